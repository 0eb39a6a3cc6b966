"""The module map of ../shared/design.md, enforced: every module's direct ecgkit imports (module level and inside
functions) stay within what its package may import, and data/metric/submission/paper load without torch."""
import ast, subprocess, sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent/'ecgkit'

# package -> the ecgkit packages it may import (itself always allowed)
ALLOWED = {
    'core': set(),
    'data': {'core'},
    'metric': {'core', 'data'},
    'submission': {'core', 'data', 'metric'},
    'paper': {'core', 'data'},
    'synth': {'core', 'data', 'paper'},
    'models': {'core'},
    'train': {'core', 'models'},
    'stages': {'core', 'data', 'metric', 'paper', 'submission', 'synth', 'models', 'train', 'digitize'},
    'digitize': {'core', 'data', 'metric', 'paper', 'submission', 'models'},
    'kaggle': {'core', 'data', 'submission'},
}


def _package(mod: str) -> str:
    "'ecgkit.train.loop' -> 'train'; 'ecgkit' -> ''."
    parts = mod.split('.')
    return parts[1] if len(parts) > 1 else ''


def _imports(path: Path):
    "(line, imported ecgkit module) for every import in the file, relative ones resolved."
    mod = 'ecgkit.' + '.'.join(path.relative_to(PKG).with_suffix('').parts)
    here = mod.split('.')[:-1] if path.name != '__init__.py' else mod.split('.')
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split('.')[0] == 'ecgkit': yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level: base = '.'.join(here[:len(here) - node.level + 1] + ([base] if base else []))
            if base.split('.')[0] != 'ecgkit': continue
            if base == 'ecgkit':                     # from ecgkit import x: x is a module or a name of __init__
                for a in node.names: yield node.lineno, f'ecgkit.{a.name}' if (PKG/a.name).exists() or (PKG/f'{a.name}.py').exists() else 'ecgkit'
            else: yield node.lineno, base


def _modules():
    return sorted(p for p in PKG.rglob('*.py') if p.name != '_modidx.py')


def test_every_module_has_a_rule():
    for p in _modules():
        pkg = _package('ecgkit.' + '.'.join(p.relative_to(PKG).with_suffix('').parts))
        assert pkg in ALLOWED or pkg in ('cli', '__init__', ''), f'{p}: package {pkg!r} is not in the module map'


def test_imports_follow_the_module_map():
    bad = []
    for p in _modules():
        pkg = _package('ecgkit.' + '.'.join(p.relative_to(PKG).with_suffix('').parts))
        if pkg not in ALLOWED: continue                          # cli may import anything
        for line, target in _imports(p):
            t = _package(target)
            if t in ('', pkg): continue                          # ecgkit.__version__, or its own package
            if t == 'cli': bad.append(f'{p.relative_to(PKG.parent)}:{line} imports the CLI')
            elif t not in ALLOWED[pkg]: bad.append(f'{p.relative_to(PKG.parent)}:{line}: {pkg} may not import {target}')
    assert not bad, '\n'.join(bad)


def test_the_checker_sees_violations(tmp_path):
    "The parser finds module-level, function-level and relative imports (a checker that finds nothing proves nothing)."
    f = PKG/'digitize'/'_probe_tmp.py'
    f.write_text('import os\nfrom ecgkit.synth.render import render\ndef g():\n    from ..train import loop\n    import ecgkit.stages.base\n')
    try: found = [t for _, t in _imports(f)]
    finally: f.unlink()
    assert found == ['ecgkit.synth.render', 'ecgkit.train', 'ecgkit.stages.base'], found


@pytest.mark.parametrize('mod', ['ecgkit.data', 'ecgkit.metric', 'ecgkit.submission', 'ecgkit.paper'])
def test_light_modules_load_without_torch(mod):
    code = f'import sys, {mod}; assert "torch" not in sys.modules, sorted(m for m in sys.modules if m.startswith("torch"))[:5]'
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
