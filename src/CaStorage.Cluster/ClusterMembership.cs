using CaStorage.Core.Threading;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CaStorage.Cluster;

/// <summary>
/// PostgreSQL decides who is alive and who owns which shard (ARCHITECTURE §3). The node holds, on one dedicated,
/// idle, unpooled connection, a session advisory lock on its node key (alive while held) and one per owned shard
/// (owner while held, with <c>shards.epoch</c> bumped at each change of owner). Every poll it reads the members,
/// takes free shards that rendezvous hashing gives it, and hands off shards that now belong to another live node.
/// A node that dies loses its locks at once (PostgreSQL ends its backend), and the others take its shards in their
/// next round. A node that cannot finish a round within the fence deadline fences itself: it stops serving before
/// PostgreSQL can let another node take over.
/// </summary>
public sealed class ClusterMembership : IAsyncDisposable
{
    private readonly ClusterNodeOptions _o;
    private readonly ILogger _log;
    private readonly Dictionary<int, long> _owned = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _viewLock = new();
    private NpgsqlConnection? _conn;
    // One command at a time on the membership connection: rounds and drain requests from the admin API share it.
    private readonly SemaphoreSlim _connGate = new(1, 1);
    private Task? _loop;
    private ClusterView _view = ClusterView.Empty;
    private volatile bool _fenced;
    private volatile bool _draining;

    public ClusterMembership(ClusterNodeOptions options, ILogger log)
    {
        _o = options;
        _log = log;
    }

    public string NodeId => _o.NodeId;

    /// <summary>
    /// This membership's life (its nodes.started_at), new at every join: opens are tagged with it, so a node that died,
    /// or fenced itself and joined again, is seen by the others to have lost the clients of its former life.
    /// </summary>
    public long Incarnation => Volatile.Read(ref _incarnation);
    private long _incarnation;

    /// <summary>Called at every join with the new owner-tag prefix (the SMB layer tags new opens with it).</summary>
    public Action<string>? Joined { get; set; }

    /// <summary>The owner-tag prefix of this node's connections ("node#incarnation/").</summary>
    public string OwnerPrefix => OwnerPrefixOf(_o.NodeId, Incarnation);

    public static string OwnerPrefixOf(string nodeId, long incarnation) => $"{nodeId}#{incarnation}/";

    /// <summary>
    /// Members that were alive in the last round and are gone now (died, or died and came back as a new incarnation),
    /// by owner-tag prefix: the opens their clients held are disconnected (durable) or closed.
    /// </summary>
    public Func<IReadOnlyList<string>, Task>? MembersGone { get; set; }

    private HashSet<string> _livePrefixes = [];

    /// <summary>Members this node saw die (their liveness lock vanished without leaving), cumulative.</summary>
    public long Failovers => Interlocked.Read(ref _failovers);
    private long _failovers;

    /// <summary>Shards this node took from a member that died (failover), cumulative.</summary>
    public long ShardsTakenOver => Interlocked.Read(ref _shardsTakenOver);
    private long _shardsTakenOver;

    /// <summary>Shards this node took that were free or handed off (first join, rebalancing, a drain), cumulative.</summary>
    public long ShardsHandedIn => Interlocked.Read(ref _shardsHandedIn);
    private long _shardsHandedIn;

    /// <summary>Shards taken in one round, with their epochs: load their durable state before serving them.</summary>
    public Func<IReadOnlyList<(int Shard, long Epoch)>, Task>? ShardsAcquired { get; set; }

    /// <summary>The shard goes to another node (or was lost by fencing): flush and stop serving it, forget its state.</summary>
    public Func<int, Task>? ShardReleasing { get; set; }

    /// <summary>This node lost PostgreSQL for longer than the fence deadline: drop every client, stop I/O.</summary>
    public Func<Task>? Fenced { get; set; }

    public bool IsFenced => _fenced;

    /// <summary>
    /// Joined, and the last completed round is within the fence deadline: what this node knows of the cluster still
    /// holds. A node that was stalled (paused, starved) may have lost its shards meanwhile and must not act on them.
    /// </summary>
    public bool IsCurrent => !_fenced && RoundRecent;

    /// <summary>
    /// True at once while current; otherwise waits for the rounds to settle it: true when a round completes (nothing
    /// moved under this node), false when the node fences itself (or nothing is settled within three deadlines).
    /// Client requests wait here, so a node resumed after a pause serves nothing before it knows where it stands.
    /// </summary>
    public ValueTask<bool> ServingAsync(CancellationToken ct) => IsCurrent ? ValueTask.FromResult(true) : new(SettleAsync(ct));

    private async Task<bool> SettleAsync(CancellationToken ct)
    {
        var end = Environment.TickCount64 + 3 * (long)_o.FenceDeadline.TotalMilliseconds;
        while (true)
        {
            var roundEnded = _roundEnded.Next; // before the check, so a round ending in between is not missed
            var left = end - Environment.TickCount64;
            if (IsCurrent || _fenced || left <= 0) break;
            try { await roundEnded.WaitAsync(TimeSpan.FromMilliseconds(left), ct).ConfigureAwait(false); }
            catch (TimeoutException) { break; }
        }
        return IsCurrent;
    }

    private readonly ChangeSignal _roundEnded = new();

    /// <summary>A member whose heartbeat is older than this is hung: twice the fence deadline (it fences itself first).</summary>
    private TimeSpan HungAfter => _o.FenceDeadline * 2;

    public ClusterView View { get { lock (_viewLock) return _view; } }

    /// <summary>The shards this node owns now, with the epoch of each.</summary>
    public IReadOnlyDictionary<int, long> OwnedShards { get { lock (_owned) return new Dictionary<int, long>(_owned); } }

    private int[] _ownedList = [];

    /// <summary>
    /// The shards where this node places the files its clients create (<see cref="State.FileHome"/>): those it owns,
    /// none while it drains (they are leaving). A snapshot, read without a lock on every create.
    /// </summary>
    public int[] HomeShards => _draining ? [] : Volatile.Read(ref _ownedList);

    private void OwnedChanged() => Volatile.Write(ref _ownedList, [.. _owned.Keys.Order()]); // under _owned's lock

    /// <summary>
    /// Does this node own the shard now? Not when its last completed round is older than the fence deadline: a node
    /// that was stalled (paused, starved) may have lost its shards meanwhile and must not decide for them.
    /// </summary>
    public bool Owns(int shard, out long epoch)
    {
        epoch = 0;
        if (!RoundRecent) return false;
        lock (_owned) return _owned.TryGetValue(shard, out epoch);
    }

    private long _lastRoundOkTicks = Environment.TickCount64;

    private bool RoundRecent => Environment.TickCount64 - Volatile.Read(ref _lastRoundOkTicks) <= (long)_o.FenceDeadline.TotalMilliseconds;
    private readonly Dictionary<int, long> _acquiring = new();

    /// <summary>
    /// The epoch under which this node owns (or is taking) the shard, for fenced store writes; -1 when it does not,
    /// or when its last round is older than the fence deadline.
    /// </summary>
    public long EpochOf(int shard)
    {
        if (!RoundRecent) return -1;
        lock (_owned)
        {
            if (_owned.TryGetValue(shard, out var e)) return e;
            return _acquiring.TryGetValue(shard, out e) ? e : -1;
        }
    }

    /// <summary>Runs after a round's last answer came and before it counts as done: a node stopped there, for tests.</summary>
    internal Func<Task>? StallBeforeRoundEndForTest { get; set; }

    /// <summary>Stops the rounds but keeps the connection and its locks: a hung node, for tests.</summary>
    internal async Task HangForTestAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is { } l) await l.ConfigureAwait(false);
    }

    /// <summary>Joins: takes the node's liveness lock (refused if another process already runs with this id), then polls.</summary>
    public async Task StartAsync(CancellationToken ct)
    {
        await JoinAsync(ct).ConfigureAwait(false);
        await RoundAsync(ct).ConfigureAwait(false);
        _loop = Task.Run(LoopAsync, CancellationToken.None);
    }

    private async Task JoinAsync(CancellationToken ct)
    {
        var b = new NpgsqlConnectionStringBuilder(_o.ConnectionString)
        {
            // Session advisory locks live and die with this one backend: never pooled, never shared.
            Pooling = false,
            KeepAlive = 1,
            TcpKeepAlive = true,
            ApplicationName = $"castorage-membership-{_o.NodeId}",
            CommandTimeout = Math.Max(1, (int)Math.Ceiling(_o.FenceDeadline.TotalSeconds)),
        };
        var conn = new NpgsqlConnection(b.ConnectionString);
        await conn.OpenAsync(ct).ConfigureAwait(false);
        // Strictly increasing even when two joins fall in one millisecond.
        Volatile.Write(ref _incarnation, Math.Max(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), _incarnation + 1));
        try
        {
            var key = AdvisoryKeys.NodeObject(_o.NodeId);
            if (!await ScalarAsync<bool>(conn, "SELECT pg_try_advisory_lock(@c, @k)", ct, ("c", AdvisoryKeys.NodeClass), ("k", key)).ConfigureAwait(false))
                throw new InvalidOperationException($"node id '{_o.NodeId}' is in use by a live node");
            await ExecAsync(conn,
                "INSERT INTO nodes (node_id, lock_key, rpc_endpoint, smb_endpoint, started_at, state) VALUES (@id, @k, @rpc, @smb, @t, 'up') " +
                "ON CONFLICT (node_id) DO UPDATE SET lock_key = excluded.lock_key, rpc_endpoint = excluded.rpc_endpoint, smb_endpoint = excluded.smb_endpoint, started_at = excluded.started_at, state = 'up'",
                ct, ("id", _o.NodeId), ("k", (long)(uint)key), ("rpc", _o.AdvertiseEndpoint ?? _o.RpcEndpoint), ("smb", _o.SmbEndpoint), ("t", Incarnation)).ConfigureAwait(false);
            await ExecAsync(conn, "INSERT INTO shards (shard, owner, epoch) SELECT s, NULL, 0 FROM generate_series(0, @n - 1) s ON CONFLICT (shard) DO NOTHING",
                ct, ("n", _o.ShardCount)).ConfigureAwait(false);
        }
        catch
        {
            await conn.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        _conn = conn;
        _fenced = false;
        _draining = false;
        Joined?.Invoke(OwnerPrefix);
        _log.LogInformation("cluster: node {Node} joined", _o.NodeId);
    }

    private async Task LoopAsync()
    {
        var ct = _stop.Token;
        using var timer = new PeriodicTimer(_o.PollInterval);
        while (await SafeWaitAsync(timer, ct).ConfigureAwait(false))
        {
            if (_fenced)
            {
                // Come back as a fresh member once PostgreSQL answers again.
                try { await JoinAsync(ct).ConfigureAwait(false); }
                catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException or System.Net.Sockets.SocketException)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
                    continue;
                }
                catch (OperationCanceledException) { return; }
            }
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(_o.FenceDeadline);
            try
            {
                await RoundAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                await FenceAsync(ex).ConfigureAwait(false);
            }
            _roundEnded.Raise();
        }
    }

    private static async Task<bool> SafeWaitAsync(PeriodicTimer t, CancellationToken ct)
    {
        try { return await t.WaitForNextTickAsync(ct).ConfigureAwait(false); }
        catch (OperationCanceledException) { return false; }
    }

    /// <summary>Stop serving at once: owned shards are forgotten and the connection (with its locks) is dropped.</summary>
    private async Task FenceAsync(Exception cause)
    {
        if (_fenced) return;
        _fenced = true;
        _log.LogError(cause, "cluster: node {Node} lost the store for longer than {Deadline}: fencing itself", _o.NodeId, _o.FenceDeadline);
        int[] lost;
        lock (_owned)
        {
            lost = [.. _owned.Keys];
            _owned.Clear();
            OwnedChanged();
        }
        // Their state is the new owners' now: a node that joins again must load it afresh, not find its old actors
        // (opens it still believed connected, to connections it has since dropped).
        if (ShardReleasing is { } drop)
            foreach (var s in lost) await drop(s).ConfigureAwait(false);
        if (Fenced is { } f)
        {
            try { await f().ConfigureAwait(false); }
            catch (Exception ex) { _log.LogError(ex, "cluster: fencing handler failed"); }
        }
        if (_conn is { } c)
        {
            _conn = null;
            try { await c.DisposeAsync().ConfigureAwait(false); } catch (Exception) { /* already broken */ }
        }
    }

    /// <summary>One membership round (public for tests).</summary>
    public async Task RoundAsync(CancellationToken ct)
    {
        await _connGate.WaitAsync(ct).ConfigureAwait(false);
        try { await RoundCoreAsync(ct).ConfigureAwait(false); }
        finally { _connGate.Release(); }
    }

    private async Task RoundCoreAsync(CancellationToken ct)
    {
        var conn = _conn ?? throw new InvalidOperationException("not joined");
        // What a round learns holds from its start, not its end: a node stopped mid-round (SIGSTOP, starved) finds
        // PostgreSQL's answers waiting in its socket when it wakes, but its shards may have moved meanwhile.
        var started = Environment.TickCount64;
        // This node's heartbeat; a node whose heartbeat stops while its locks stay (hung, not dead) is cut off by the
        // others: PostgreSQL ends its backend, its locks vanish, its shards move, and it fences itself when it wakes.
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        // One round trip for a round where nothing moves (the usual one): heartbeat, cutting off hung members, who is
        // alive (nodes whose liveness lock is held right now), the members and the shard owners.
        var held = new HashSet<long>();
        var nodes = new List<ClusterNode>();
        var shards = new Dictionary<int, (string?, long)>();
        await using (var batch = new NpgsqlBatch(conn))
        {
            batch.BatchCommands.Add(Command("UPDATE nodes SET heartbeat_ms = @t WHERE node_id = @id", ("t", now), ("id", _o.NodeId)));
            batch.BatchCommands.Add(Command(
                "SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a JOIN nodes n ON a.application_name = 'castorage-membership-' || n.node_id " +
                "WHERE n.node_id <> @id AND n.heartbeat_ms > 0 AND n.heartbeat_ms < @stale", ("id", _o.NodeId), ("stale", now - (long)HungAfter.TotalMilliseconds)));
            batch.BatchCommands.Add(Command(
                "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid::bigint = @c AND objsubid = 2", ("c", (long)AdvisoryKeys.NodeClass)));
            batch.BatchCommands.Add(Command("SELECT node_id, lock_key, rpc_endpoint, smb_endpoint, state, started_at FROM nodes ORDER BY node_id"));
            batch.BatchCommands.Add(Command("SELECT shard, owner, epoch FROM shards"));
            await using var r = await batch.ExecuteReaderAsync(ct).ConfigureAwait(false);
            // The reader starts at the first result with rows (the UPDATE has none); the cut-off members' rows say
            // nothing this round needs.
            while (await r.ReadAsync(ct).ConfigureAwait(false)) { }
            await r.NextResultAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false)) held.Add(r.GetInt64(0));
            await r.NextResultAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
                nodes.Add(new ClusterNode(r.GetString(0), r.GetString(2), r.GetString(3), r.GetString(4), held.Contains(r.GetInt64(1)), r.GetInt64(5)));
            await r.NextResultAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false)) ReadShard(r, shards);
        }
        var candidates = nodes.Where(n => n.Live && n.State == "up").Select(n => n.NodeId).ToList();
        // Who is alive, at once: the hand-off and takeover below ask the live nodes (never one just cut off, which
        // would hold the round past the fence deadline). The shard owners follow at the end of the round.
        lock (_viewLock) _view = new ClusterView(nodes, _view.Shards);

        var live = nodes.Where(n => n.Live).Select(n => OwnerPrefixOf(n.NodeId, n.StartedAtMs)).ToHashSet();
        var gone = _livePrefixes.Where(p => !live.Contains(p) && p != OwnerPrefix).ToList();
        _livePrefixes = live;
        // Gone without leaving: died, was cut off while hung, or died and came back as a new incarnation.
        var died = gone.Count(p => !nodes.Any(n => OwnerPrefixOf(n.NodeId, n.StartedAtMs) == p && n.State == "left"));
        if (died > 0) Interlocked.Add(ref _failovers, died);
        if (gone.Count > 0 && MembersGone is { } onGone)
        {
            _log.LogWarning("cluster: members gone: {Members}", string.Join(", ", gone));
            await onGone(gone).ConfigureAwait(false);
        }

        var desired = new List<int>();
        for (var s = 0; s < _o.ShardCount; s++)
            if (!_draining && ShardPlacement.OwnerOf(s, candidates) == _o.NodeId) desired.Add(s);
        int[] release, acquire;
        lock (_owned)
        {
            release = _owned.Keys.Where(s => !desired.Contains(s)).ToArray();
            acquire = desired.Where(s => !_owned.ContainsKey(s)).ToArray();
        }

        // Hand-off first: the new owner can only take a shard once its lock is free.
        foreach (var s in release)
        {
            if (ShardReleasing is { } rel) await rel(s).ConfigureAwait(false);
            lock (_owned)
            {
                _owned.Remove(s);
                OwnedChanged();
            }
        }
        if (release.Length > 0)
        {
            await ExecAsync(conn, "SELECT pg_advisory_unlock(@c, s) FROM unnest(@shards) s", ct,
                ("c", AdvisoryKeys.ShardClass), ("shards", release)).ConfigureAwait(false);
            _log.LogInformation("cluster: node {Node} handed off {Count} shards", _o.NodeId, release.Length);
        }

        var got = new List<int>();
        if (acquire.Length > 0)
        {
            await using (var cmd = new NpgsqlCommand("SELECT s FROM unnest(@shards) s WHERE pg_try_advisory_lock(@c, s)", conn))
            {
                cmd.Parameters.AddWithValue("c", AdvisoryKeys.ShardClass);
                cmd.Parameters.AddWithValue("shards", acquire);
                await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
                while (await r.ReadAsync(ct).ConfigureAwait(false)) got.Add(r.GetInt32(0));
            }
            if (got.Count > 0)
            {
                // Whose they were, as the last round saw: a shard of a member that died (not alive, did not leave) is
                // a failover.
                var before = View.Shards;
                var takenOver = got.Count(s => before.TryGetValue(s, out var o) && o.Owner is { } owner && owner != _o.NodeId
                    && !nodes.Any(n => n.NodeId == owner && (n.Live || n.State == "left")));
                Interlocked.Add(ref _shardsTakenOver, takenOver);
                Interlocked.Add(ref _shardsHandedIn, got.Count - takenOver);
                var epochs = new List<(int Shard, long Epoch)>();
                await using (var cmd = new NpgsqlCommand("UPDATE shards SET owner = @me, epoch = epoch + 1 WHERE shard = ANY(@shards) RETURNING shard, epoch", conn))
                {
                    cmd.Parameters.AddWithValue("me", _o.NodeId);
                    cmd.Parameters.AddWithValue("shards", got.ToArray());
                    await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
                    while (await r.ReadAsync(ct).ConfigureAwait(false)) epochs.Add((r.GetInt32(0), r.GetInt64(1)));
                }
                // Loaded first, served after: a shard counts as owned (and local calls reach its actors) once restored;
                // meanwhile its writes (the restore itself) already carry the new epoch.
                lock (_owned)
                    foreach (var (s, e) in epochs) _acquiring[s] = e;
                try
                {
                    if (ShardsAcquired is { } acq) await acq(epochs).ConfigureAwait(false);
                }
                finally
                {
                    lock (_owned)
                    {
                        foreach (var (s, e) in epochs)
                        {
                            _owned[s] = e;
                            _acquiring.Remove(s);
                        }
                        OwnedChanged();
                    }
                }
                _log.LogInformation("cluster: node {Node} took {Count} shards", _o.NodeId, epochs.Count);
            }
        }

        if (release.Length > 0 || got.Count > 0)
        {
            // Owners changed in this round (by this node at least): read them again.
            shards.Clear();
            await using var cmd = new NpgsqlCommand("SELECT shard, owner, epoch FROM shards", conn);
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false)) ReadShard(r, shards);
        }
        lock (_viewLock) _view = new ClusterView(nodes, shards);
        if (StallBeforeRoundEndForTest is { } stall) await stall().ConfigureAwait(false);
        Volatile.Write(ref _lastRoundOkTicks, started);
    }

    /// <summary>Drain: give every shard away (the others take them in their next round) and stay out until undrained.</summary>
    public async Task DrainAsync(bool drain, CancellationToken ct)
    {
        _draining = drain;
        await _connGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_conn is { } conn)
                await ExecAsync(conn, "UPDATE nodes SET state = @s WHERE node_id = @id", ct, ("s", drain ? "draining" : "up"), ("id", _o.NodeId)).ConfigureAwait(false);
        }
        finally { _connGate.Release(); }
    }

    /// <summary>Leaves: shards and liveness go with the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is { } l)
        {
            try { await l.ConfigureAwait(false); } catch (Exception) { /* stopping */ }
        }
        if (_conn is { } c)
        {
            _conn = null;
            try
            {
                await ExecAsync(c, "UPDATE nodes SET state = 'left' WHERE node_id = @id", CancellationToken.None, ("id", _o.NodeId)).ConfigureAwait(false);
            }
            // A connection PostgreSQL already ended (a node cut off while hung) refuses commands: leaving anyway.
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException) { /* leaving anyway */ }
            await c.DisposeAsync().ConfigureAwait(false);
        }
        _stop.Dispose();
        _connGate.Dispose();
    }

    private static NpgsqlBatchCommand Command(string sql, params (string Name, object Value)[] ps)
    {
        var c = new NpgsqlBatchCommand(sql);
        foreach (var (n, v) in ps) c.Parameters.AddWithValue(n, v);
        return c;
    }

    private static void ReadShard(NpgsqlDataReader r, Dictionary<int, (string?, long)> shards) =>
        shards[r.GetInt32(0)] = (r.IsDBNull(1) ? null : r.GetString(1), r.GetInt64(2));

    private static async Task ExecAsync(NpgsqlConnection c, string sql, CancellationToken ct, params (string Name, object Value)[] ps)
    {
        await using var cmd = new NpgsqlCommand(sql, c);
        foreach (var (n, v) in ps) cmd.Parameters.AddWithValue(n, v);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection c, string sql, CancellationToken ct, params (string Name, object Value)[] ps)
    {
        await using var cmd = new NpgsqlCommand(sql, c);
        foreach (var (n, v) in ps) cmd.Parameters.AddWithValue(n, v);
        return (T)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }
}
