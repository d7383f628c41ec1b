#!/bin/bash
# A descartes agent that takes custom actions (docs/agent-protocol.md) in plain bash: no jq, a JSON-light
# reading that relies on what the daemon writes (one line {"id":"...","name":"...","params":{...}}, in
# that order, params last).
#
#   descartesctl spawn --name sh-helper -- bash examples/action-agent.sh
#   descartesctl action sh-helper ping                      ->  {"pong":true,"pid":...}
#
# Actions: ping ({"pong": true, "pid": N}), echo (the params back), anything else answers an error.
set -u
fd=${DESCARTES_ACTION_FD:?no action channel (DESCARTES_ACTION_FD is not set)}

# open the channel: the daemon refuses actions (conflict) until this line
printf '{"ready":true}\n' >&"$fd"
echo ready

while IFS= read -r line <&"$fd"; do
        id=${line#*\"id\":\"}
        id=${id%%\"*}
        name=${line#*\"name\":\"}
        name=${name%%\"*}
        params=${line#*\"params\":}
        params=${params%\}}
        case $name in
        ping) printf '{"id":"%s","result":{"pong":true,"pid":%d}}\n' "$id" "$$" >&"$fd" ;;
        echo) printf '{"id":"%s","result":%s}\n' "$id" "$params" >&"$fd" ;;
        *) printf '{"id":"%s","error":{"code":"E_UNKNOWN","message":"no action %s"}}\n' "$id" "$name" >&"$fd" ;;
        esac
done
