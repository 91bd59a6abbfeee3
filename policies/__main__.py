"""Developer tool: ``python -m policies write-schema`` regenerates ``policy.schema.json``."""

import sys

from policies.schema import write_schema_file


def main(argv: list[str]) -> int:
    if argv != ["write-schema"]:
        print("usage: python -m policies write-schema", file=sys.stderr)
        return 2
    print(f"wrote {write_schema_file()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
