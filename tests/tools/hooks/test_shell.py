"""Which packages a shell command installs, as the Cursor beforeShellExecution check reads it."""

from __future__ import annotations

import pytest

from secaudit.tools.hooks.shell import InstallSpec, install_specs


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("npm install lodash@4.17.20", [InstallSpec("npm", "lodash", "4.17.20")]),
        ("npm i -D @types/node@20.1.0 left-pad", [InstallSpec("npm", "@types/node", "20.1.0"),
                                                   InstallSpec("npm", "left-pad", None)]),
        ("yarn add react@^18.0.0", [InstallSpec("npm", "react", None)]),
        ("pip install requests==2.19.0 'flask>=2'", [InstallSpec("PyPI", "requests", "2.19.0"),
                                                      InstallSpec("PyPI", "flask", None)]),
        ("cd x && FOO=1 python3 -m pip install -r req.txt urllib3==1.24.1",
         [InstallSpec("PyPI", "urllib3", "1.24.1")]),
        ("sudo pip3 install django[argon2]==4.0", [InstallSpec("PyPI", "django", "4.0")]),
        ("pip install ./local-pkg -e .", []),
        ("npm test; echo 'pip install requests==1.0'", []),
        ("npm run install", []),
        ("echo 'unbalanced", []),
    ],
)  # fmt: skip
def test_install_specs(command: str, expected: list[InstallSpec]) -> None:
    assert install_specs(command) == expected
