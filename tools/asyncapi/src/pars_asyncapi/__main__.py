from .generator import main

main()
