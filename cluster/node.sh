# shellcheck shell=bash
# Sourced by up.sh and kill-node.sh (after tests/lib/common.sh): one place for a node's command line.

# start_node DIR I BASE PORT PG: starts node I of the cluster in DIR on 127.0.0.(BASE+I):PORT, in the background,
# with the shares and users every node has; its pid goes to DIR/nodeI.pid, its output to DIR/nodeI.log.
start_node() {
    local dir="$1" i="$2" base="$3" port="$4" pg="$5"
    local addr="127.0.0.$((base + i))"
    mkdir -p "$dir/node$i"
    nohup dotnet "$CASTORAGE_DLL" --listen "$addr:$port" --data "$dir/node$i" \
        --share "share=$dir/share" --share "ca=$dir/ca,ca" --share "noperm=$dir/noperm" \
        --user "$TEST_USER1:$TEST_PASS1" --user "$TEST_USER2:$TEST_PASS2" \
        --postgres "$pg" --node-id "node$i" --cluster-listen "$addr:4470" \
        --admin "$addr:4460" --metrics "$addr:4461" >>"$dir/node$i.log" 2>&1 </dev/null &
    echo $! >"$dir/node$i.pid"
}
