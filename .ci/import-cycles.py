#!/usr/bin/env python3
"""Import graph of a crate's source files (non-test code) and its cycles: exits 1 if
any module imports one that (through others) imports it back. usage: import-cycles.py SRC_DIR [-v]"""
import os, re, sys
root = sys.argv[1]  # e.g. akira-bridge/src
files = {}
for d, _, fs in os.walk(root):
    for f in fs:
        if f.endswith('.rs'):
            p = os.path.join(d, f)
            rel = os.path.relpath(p, root)[:-3]
            parts = rel.split(os.sep)
            if parts[-1] in ('mod', 'lib'):
                parts = parts[:-1]
            files[tuple(parts)] = p
def module_of(path):
    # longest prefix that is a file module
    for n in range(len(path), -1, -1):
        if tuple(path[:n]) in files:
            return tuple(path[:n])
    return ()
edges = {}
for mod, p in files.items():
    if mod and mod[-1] in ('tests', 'testing'):
        continue
    src = open(p).read()
    # drop inline test modules (at the end of files)
    m = re.search(r'#\[cfg\(test\)\]\s*mod tests \{', src)
    if m:
        src = src[:m.start()]
    code = '\n'.join(l.split('//')[0] for l in src.split('\n'))
    targets = set()
    for m in re.finditer(r'\b(crate|super)((?:::\w+)+)', code):
        segs = m.group(2).strip(':').split('::')
        base = [] if m.group(1) == 'crate' else list(mod[:-1])
        # a file that is itself a directory module (x.rs with x/): super is its parent
        t = module_of(base + segs)
        if t != mod and not (len(t) < len(mod) and mod[:len(t)] == t and False):
            targets.add(t)
    for m in re.finditer(r'\buse (crate|super)::\{([^;]*)\}', code, re.S):
        base = [] if m.group(1) == 'crate' else list(mod[:-1])
        for item in re.split(r',', m.group(2)):
            segs = [s for s in re.findall(r'\w+', item.split(' as ')[0])]
            if segs:
                t = module_of(base + segs)
                if t != mod:
                    targets.add(t)
    edges[mod] = targets
# Tarjan SCC
index = {}; low = {}; stack = []; on = set(); sccs = []; counter = [0]
sys.setrecursionlimit(10000)
def strong(v):
    index[v] = low[v] = counter[0]; counter[0] += 1; stack.append(v); on.add(v)
    for w in edges.get(v, ()):
        if w not in edges: continue
        if w not in index:
            strong(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v: break
        if len(comp) > 1: sccs.append(comp)
for v in edges:
    if v not in index: strong(v)
if '-v' in sys.argv:
    for v, ts in sorted(edges.items()):
        print('::'.join(v) or 'lib', '->', sorted('::'.join(t) or 'lib' for t in ts))
for c in sccs:
    print('CYCLE:', ' <-> '.join('::'.join(m) or 'lib' for m in c))
print(f'{len(edges)} modules, {len(sccs)} cycles')
sys.exit(1 if sccs else 0)
