from workprint.cli import main

raise SystemExit(main())
