#!/usr/bin/env bash
# Builds the seed corpora at run time from the tournament data (nothing big is committed):
#   fuzz/corpus/create_body/     N create payloads from pessoas-payloads.tsv + hand-made edge cases
#   fuzz/corpus/path_and_query/  N search terms from termos-busca.tsv as query strings + ids
# Usage: fuzz/seed.sh [N]   (default 300). BARDO_SHARED_DIR overrides ../shared.
set -euo pipefail
cd "$(dirname "$0")"
count="${1:-300}"
shared="${BARDO_SHARED_DIR:-$(cd .. && pwd)/../shared}"
data="$shared/rinha-2023-q3"
[[ -f "$data/pessoas-payloads.tsv" ]] || { echo "seed.sh: $data/pessoas-payloads.tsv not found" >&2; exit 1; }

create=corpus/create_body query=corpus/path_and_query
mkdir -p "$create" "$query"

# Line 1 is the header `payload`; each other line is one JSON body.
n=0
while IFS= read -r line; do
  n=$((n + 1)); printf '%s' "$line" > "$create/tsv-$n"
done < <(sed -n "2,$((count + 1))p" "$data/pessoas-payloads.tsv")

edge=(
  '{"apelido":"josé","nome":"José Roberto","nascimento":"2000-10-01","stack":["C#","Node","Oracle"]}'
  '{"apelido":"ana","nome":"Ana Barbosa","nascimento":"1985-09-23","stack":null}'
  '{"apelido":"a","nome":"b","nascimento":"2000-02-29"}'
  '{"apelido":"a","nome":"b","nascimento":"2001-02-29"}'
  '{"apelido":"a","apelido":"b","nome":"c","nascimento":"2000-01-01"}'
  '{"apelido":1,"nome":["x"],"nascimento":20000101,"stack":"Go"}'
  '{"apelido":"","nome":"","nascimento":"","stack":[""]}'
  '{"apelido":"x\u0000y","nome":"\ud83e\udd80","nascimento":"9999-12-31","stack":[null,1,"é"]}'
  '{"apelido":"abcdefghijklmnopqrstuvwxyzabcdef","nome":"n","nascimento":"0001-01-01","stack":["abcdefghijklmnopqrstuvwxyzabcdefg"]}'
  '{"stack":[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]}'
  '[]' 'null' '"x"' '{}' ''
)
for i in "${!edge[@]}"; do printf '%s' "${edge[$i]}" > "$create/edge-$i"; done

n=0
while IFS= read -r term; do
  n=$((n + 1)); printf 't=%s' "${term// /+}" > "$query/tsv-$n"
done < <(sed -n "2,$((count + 1))p" "$data/termos-busca.tsv")

ilong=$(printf '%%C4%%B0%.0s' $(seq 1 51))   # 51 x U+0130 (İ), percent-encoded
qedge=(
  't=node' 't=berto' 't=jo' 't=%C3%A9' 't=c%23' 't=' 't=a&t=b' 'x=1' 't=%FF%FE' "t=$ilong" 't=%CE%A3'
  'f7379ae8-8f9b-4cd5-8221-51efe19e721b' 'F7379AE8-8F9B-4CD5-8221-51EFE19E721B'
  'f7379ae88f9b4cd5822151efe19e721b' '{f7379ae8-8f9b-4cd5-8221-51efe19e721b}'
  'urn:uuid:f7379ae8-8f9b-4cd5-8221-51efe19e721b' '..' '%00'
)
for i in "${!qedge[@]}"; do printf '%s' "${qedge[$i]}" > "$query/edge-$i"; done
echo "seed.sh: corpus now holds $(ls "$create" | wc -l) create bodies, $(ls "$query" | wc -l) queries/ids"
