from walltrack.cli import main

raise SystemExit(main())
