from datalux.cli import main

main()
