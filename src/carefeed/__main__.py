from carefeed.cli import main

raise SystemExit(main())
