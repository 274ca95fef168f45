#!/usr/bin/env bash
# Regenerate the gallery in docs/gallery/ with the installed CLI (.venv/bin/geomdl) only:
#   docs/gallery/scenes/<scene>.png        one 720p still per scene of `geomdl list`
#   docs/gallery/experiments/<name>.png    the experiment figures (downscaled to <= 1400 px wide)
# and refresh the figures the gallery links in place of copying them: docs/constructions/, docs/flows/,
# docs/nc-feasibility/ (full size, PNG + PDF + CSV, as docs/results.md describes them).
#
# Everything is computed from scratch into the scratch folder media/gallery/ (git-ignored, cleared first, so
# no cached trace is reused); then the chosen outputs are copied under stable names. The heavy steps run one
# after the other (the machine is shared). Every command below is the one quoted in docs/gallery/README.md.
# Usage (from anywhere): bash scripts/make_gallery.sh   -- about 19 minutes on the 2-core VM.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export SOURCE_DATE_EPOCH=0 # matplotlib writes this date into PDFs instead of "now"
export PYTHONHASHSEED=0
MEDIA=media/gallery        # the --out of every command below (spelled out in them, for copy-paste)
GALLERY=docs/gallery
PY=.venv/bin/python        # only for downscaling PNGs (Pillow comes with matplotlib)
MAX_WIDTH=1400

[[ -x .venv/bin/geomdl ]] || { echo "error: .venv/bin/geomdl not found; run scripts/setup.sh first" >&2; exit 1; }
rm -rf "$MEDIA"
mkdir -p "$MEDIA" "$GALLERY/scenes" "$GALLERY/experiments"

TIMES=()
START=$SECONDS

run() { # run CMD...: echo, run and time one command
    local t0=$SECONDS
    echo "+ $*" >&2
    "$@"
    TIMES+=("$(printf '%5d s  %s' $((SECONDS - t0)) "$*")")
}

one() { # one GLOB: the single file the glob matches (fail otherwise)
    local matches
    # shellcheck disable=SC2206  # the glob must expand here
    matches=($1)
    if [[ ${#matches[@]} -ne 1 || ! -f ${matches[0]} ]]; then
        echo "error: expected exactly one file for $1, found: ${matches[*]}" >&2
        exit 1
    fi
    printf '%s\n' "${matches[0]}"
}

keep() { # keep GLOB DEST [WIDTH]: the one match -> docs/gallery/DEST, <= WIDTH px wide, 256-colour PNG
    local src
    src=$(one "$1") || exit 1
    "$PY" - "$src" "$GALLERY/$2" "${3:-$MAX_WIDTH}" <<'EOF'
import sys
from PIL import Image

src, dst, max_w = sys.argv[1], sys.argv[2], int(sys.argv[3])
im = Image.open(src).convert("RGBA")
im = Image.alpha_composite(Image.new("RGBA", im.size, "white"), im).convert("RGB")
if im.width > max_w:
    im = im.resize((max_w, round(im.height * max_w / im.width)), Image.LANCZOS)
# flat-coloured plots and frames: a 256-colour palette halves the file with no visible change
im.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(dst, optimize=True)
EOF
    echo "  -> $GALLERY/$2" >&2
}

refresh() { # refresh STEM DIR: copy STEM.png and STEM.pdf into DIR, only when the PNG changed
    local stem=$1 dir=$2 name
    name=$(basename "$stem")
    mkdir -p "$dir"
    if ! cmp -s "$stem.png" "$dir/$name.png"; then
        cp "$stem.png" "$stem.pdf" "$dir/"
        echo "  -> $dir/$name.png (changed; PDF copied too)" >&2
    else
        echo "  == $dir/$name.png (unchanged; PDF kept: it differs only by its date)" >&2
    fi
}

# --- scenes: one 720p still each (Manim when installed), at the moment chosen from the clip's frames -------
# Stills are named <clip stem>_t<TTT.TT>.png by `render --format png --at T`.
run .venv/bin/geomdl render truncation-speed --quality m --format png --at 12.4 --out media/gallery
keep "$MEDIA/truncation-speed/*_t012.40.png" scenes/truncation-speed.png

# layers, training, flows: matplotlib stills (typeset mathtext labels)
run .venv/bin/geomdl render layers --renderer matplotlib --quality m --format png --at 10.6 --out media/gallery
keep "$MEDIA/layers/*_t010.60.png" scenes/layers.png

# same config as `layers`: reuses the trace the previous command cached in media/gallery/traces/
run .venv/bin/geomdl render training --renderer matplotlib --quality m --format png --at 12.4 --out media/gallery
keep "$MEDIA/training/*_t012.40.png" scenes/training.png

run .venv/bin/geomdl render flows --renderer matplotlib --quality m --format png --at 12.6 --out media/gallery
keep "$MEDIA/flows/*_t012.60.png" scenes/flows.png

run .venv/bin/geomdl render cones --quality m --format png --at 10.9 --out media/gallery
keep "$MEDIA/cones/*_t010.90.png" scenes/cones.png

run .venv/bin/geomdl render local-minima --quality m --format png --at 52 --out media/gallery
keep "$MEDIA/local-minima/*_t052.00.png" scenes/local-minima.png

run .venv/bin/geomdl render perturbation --quality m --format png --at 12.4 --out media/gallery
keep "$MEDIA/perturbation/*_t012.40.png" scenes/perturbation.png

# --- experiment figures --------------------------------------------------------------------------------
run .venv/bin/geomdl construct --geometry all --figure --out media/gallery
for g in geometries clustered sls nonsep concentric; do
    refresh "$MEDIA/constructions/$g" docs/constructions
done

run .venv/bin/geomdl experiment truncation-speed --out media/gallery
keep "$MEDIA/experiments/truncation-speed/truncation_speed.png" experiments/truncation_speed.png

run .venv/bin/geomdl experiment contraction-rate --seeds 20 --out media/gallery
keep "$MEDIA/experiments/contraction-rate/contraction_rate.png" experiments/contraction_rate.png

run .venv/bin/geomdl experiment perturb --out media/gallery
keep "$MEDIA/experiments/perturb/clustered_zero-loss_train/perturbation_fraction.png" \
    experiments/perturb_fraction.png
keep "$MEDIA/experiments/perturb/clustered_zero-loss_train/perturbation_histograms.png" \
    experiments/perturb_histograms.png

run .venv/bin/geomdl experiment local-minima --out media/gallery
keep "$MEDIA/experiments/local-minima/local_minima_losses.png" experiments/local_minima_losses.png
# one of the 7 per-pattern sweeps (pattern 100: layer 1 collapses its class); the other 6 look alike
keep "$MEDIA/experiments/local-minima/clustered_100_eval/perturbation_fraction.png" \
    experiments/local_minima_100_fraction.png
keep "$MEDIA/experiments/local-minima/clustered_100_eval/perturbation_histograms.png" \
    experiments/local_minima_100_histograms.png

run .venv/bin/geomdl experiment flows --out media/gallery
for f in flows_cost flows_trajectories flows_diagnostics; do
    refresh "$MEDIA/experiments/flows/$f" docs/flows
done
cp "$MEDIA/experiments/flows/flows_summary.csv" docs/flows/

run .venv/bin/geomdl experiment nc-feasibility --out media/gallery
refresh "$MEDIA/experiments/nc-feasibility/nc_feasibility_phase" docs/nc-feasibility
cp "$MEDIA/experiments/nc-feasibility/nc_feasibility_grid.csv" docs/nc-feasibility/

# smaller than the default (which also runs digits 0 1 6 and takes ~10 min): one digit set
run .venv/bin/geomdl experiment mnist --digits 0 1 2 --out media/gallery
for f in layers_012_loss0p1 layers_012_loss0p05 layers_012_loss0p01 hyperplanes_012_mse hyperplanes_012_ce; do
    keep "$MEDIA/experiments/mnist/$f.png" "experiments/mnist_$f.png"
done
# 8 panels with small (6.5 pt) legends: kept at full width (2385 px)
keep "$MEDIA/experiments/mnist/metrics_012.png" experiments/mnist_metrics_012.png 2400

echo >&2
echo "gallery done in $((SECONDS - START)) s:" >&2
printf '%s\n' "${TIMES[@]}" >&2
du -sh "$GALLERY" >&2
du -sh docs >&2
