#!/usr/bin/env bash
# One run of the SciERC encoder-context ablation (results_scierc_ablation.md).
# usage: scierc_ablation.sh NAME CONFIG MAX_STEPS [extra spacy train overrides...]
# Env: DATA (folder with scierc_{train,dev}.spacy), RUNS (output root), CODE
# (the --code file; default pair_classifier.py).
# 1 thread; /usr/bin/time -v gives wall, CPU and peak RSS; `uptime` is sampled
# every 60 s while the run lasts (machine load).
set -euo pipefail
name=$1; config=$2; steps=$3; shift 3
here=$(cd "$(dirname "$0")" && pwd)
DATA=${DATA:-/work/ablate-data}; RUNS=${RUNS:-/work/ablate-runs}
out=$RUNS/$name; mkdir -p "$out"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
( while true; do echo "$(date -u +%H:%M:%S) $(uptime)"; sleep 60; done ) >"$out/uptime.log" &
sampler=$!
trap 'kill $sampler' EXIT
cmd=(python -m spacy train "$config" --output "$out/model" --paths.train "$DATA/scierc_train.spacy"
     --paths.dev "$DATA/scierc_dev.spacy" --nlp.lang en --training.max_steps "$steps" --system.seed 0
     --gpu-id -1 --code "${CODE:-$here/pair_classifier.py}" "$@")
echo "${cmd[*]}" >"$out/command.txt"
/usr/bin/time -v -o "$out/time.txt" "${cmd[@]}" >"$out/train.log" 2>&1
