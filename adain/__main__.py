from adain.cli import main

main()
