"""`python -m kerashg.data.synthetic`: see `kerashg.data.synthetic.cli`."""

from kerashg.data.synthetic.cli import main

if __name__ == "__main__":
    main()
