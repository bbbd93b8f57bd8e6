#!/usr/bin/env python3
"""Buckets the CPU profiles that bench/profiles.sh writes into the categories of
docs/BENCHMARKS.md ("What limits each workload"): flat time per function,
first matching category wins.  Usage: bench/profile_table.py [DIR] (default /tmp/rnnkit-prof)."""
import os, re, subprocess, sys
cats=[('GEMM and products',r'sgemm|packA|packB|gemm|Gemm|dot4|dotRows|gemv|q8|Q8|QMatrix|MulAdd|kernel\.(mul|Mul)|quantizeRow'),
('gate math',r'cell(Forward|Backward)|sigmoid|tanh|Tanh|Sigmoid|act[A-Z]|gates|lstm|gru|\.gate'),
('attention',r'[Aa]ttention|attn'),
('softmax and loss',r'[Ss]oftmax|ceRows|CrossEntropy|expSum|exp[A-Z]|logSumExp|Sampled'),
('optimizer',r'optim\.|adam|Adam'),
('allocation and GC',r'mallocgc|memclr|gcBgMark|scanobject|gcDrain|markBits|sweep|nextFreeFast|newobject|makeslice|growslice|heapBits|greyobject|findObject'),
('synchronisation and scheduling',r'asyncPreempt|lock2|unlock2|findRunnable|futex|atomic|park|schedule|runqsteal|notesleep|semacquire|semrelease|chanrecv|chansend|selectgo|procyield|osyield|osYield|RawSyscall|usleep|\(\*pool\)|wakep|stealWork|runtime\.gopark|Gosched'),
('bias adds and vector ops',r'axpy|Axpy|sumRows|addRows|kernel\.(dot|Dot)\b|scale'),
('copies',r'memmove|copy'),
]
def bucket(prof, binary):
    out=subprocess.run(['go','tool','pprof','-top','-nodecount=400',binary,prof],capture_output=True,text=True).stdout
    tot=None; acc={c:0.0 for c,_ in cats}; other=0.0; total=0.0
    for l in out.splitlines():
        m=re.match(r'\s*([\d.]+)(ms|s|us|µs)\s+([\d.]+)%\s+[\d.]+%\s+[\d.]+\S*\s+[\d.]+%\s+(.*)',l)
        if not m: continue
        v=float(m.group(1))*{'s':1,'ms':1e-3,'us':1e-6,'µs':1e-6}[m.group(2)]
        fn=m.group(4); total+=v
        for c,r in cats:
            if re.search(r,fn): acc[c]+=v; break
        else: other+=v
    return {c:100*acc[c]/total for c in acc} | {'other':100*other/total}
D = sys.argv[1] if len(sys.argv) > 1 else '/tmp/rnnkit-prof'
names=['w1:charrnn','w2:charrnn','w3t:sentiment','w3i:sentiment','w4t:seq2seq','w4g:seq2seq','w4b:seq2seq']
rows=[]
for spec in names:
    n,pkg=spec.split(':')
    if not os.path.exists(f'{D}/{n}.prof'):
        continue # bench/profiles.sh DIR W4 profiles only some workloads
    rows.append((n,bucket(f'{D}/{n}.prof',f'{D}/{pkg}.test')))
cols=[c for c,_ in cats]+['other']
print('| share of CPU samples | '+' | '.join(n for n,_ in rows)+' |')
print('| --- |'+' --- |'*len(rows))
for c in cols:
    print(f'| {c} | '+' | '.join(f'{r[c]:.0f}%' for _,r in rows)+' |')
