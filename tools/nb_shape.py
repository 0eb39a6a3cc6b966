#!/usr/bin/env python3
"""Shape check for the notebooks in nbs/: they should read as lessons (issue 13).

For every notebook: the export cells' line counts (directive lines like `#| export` not counted), their median
and maximum, and the export cells that are not followed by a test cell within the next two cells. A test cell is
a code cell without an export directive that asserts something (`assert`, or fastcore's `test_*`). An export cell
that only imports needs no test.
Prints the table and exits 1 when a notebook breaks a limit: median > 20 lines, any cell > 60, a cell untested.

    python tools/nb_shape.py [nbs] [--median 20] [--max 60] [--window 2] [-v]
"""
import argparse, ast, json, re, statistics, sys
from pathlib import Path

EXPORT = re.compile(r'^\s*#\|\s*export[si]?\b')
DIRECTIVE = re.compile(r'^\s*#\|')
ASSERTS = re.compile(r'(^|[^\w.])(assert\b|test_\w+\s*\(|test_fail\b)', re.M)

def lines_of(cell): 
    src = cell['source']
    return (''.join(src) if isinstance(src, list) else src).splitlines()

def is_export(cell): return cell['cell_type'] == 'code' and any(EXPORT.match(l) for l in lines_of(cell))

def is_test(cell):
    if cell['cell_type'] != 'code' or is_export(cell): return False
    body = '\n'.join(l for l in lines_of(cell) if not DIRECTIVE.match(l))
    return bool(ASSERTS.search(body))

def imports_only(cell):
    try: tree = ast.parse('\n'.join(l for l in lines_of(cell) if not DIRECTIVE.match(l)))
    except SyntaxError: return False
    return all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in tree.body)

def size(cell):
    body = [l for l in lines_of(cell) if not DIRECTIVE.match(l)]
    while body and not body[-1].strip(): body.pop()
    return len(body)

def first_line(cell):
    return next((l.strip() for l in lines_of(cell) if l.strip() and not DIRECTIVE.match(l)), '')

def shape(path, window=2):
    "Sizes of the export cells of the notebook at `path`, and the export cells with no test after them."
    cells = json.loads(Path(path).read_text())['cells']
    sizes, untested = [], []
    for i, c in enumerate(cells):
        if not is_export(c): continue
        sizes.append((size(c), first_line(c)))
        after = cells[i+1:i+1+window]
        if not imports_only(c) and not any(is_test(a) for a in after): untested.append(first_line(c))
    return sizes, untested

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('path', nargs='?', default='nbs')
    p.add_argument('--median', type=float, default=20)
    p.add_argument('--max', type=int, default=60)
    p.add_argument('--window', type=int, default=2)
    p.add_argument('-v', '--verbose', action='store_true', help='name the cells that break a limit')
    a = p.parse_args(argv)
    nbs = sorted(Path(a.path).glob('*.ipynb')) if Path(a.path).is_dir() else [Path(a.path)]
    print(f"{'notebook':34} {'cells':>5} {'median':>6} {'max':>4} {'untested':>8}  ok")
    bad = 0
    for nb in nbs:
        sizes, untested = shape(nb, a.window)
        if not sizes: continue
        n = [s for s, _ in sizes]
        med, mx = statistics.median(n), max(n)
        ok = med <= a.median and mx <= a.max and not untested
        bad += not ok
        print(f"{nb.name:34} {len(n):5d} {med:6.1f} {mx:4d} {len(untested):8d}  {'ok' if ok else 'FAIL'}")
        if a.verbose and not ok:
            for s, first in sizes:
                if s > a.max: print(f"    {s:4d} lines: {first}")
            for first in untested: print(f"    untested: {first}")
    print(f"limits: median <= {a.median:g}, max <= {a.max}, a test within {a.window} cells after each export cell;"
          f" {bad} notebook(s) break them" if bad else f"limits: median <= {a.median:g}, max <= {a.max}, a test within"
          f" {a.window} cells after each export cell; every notebook keeps them")
    return 1 if bad else 0

if __name__ == '__main__': sys.exit(main())
