using CaStorage.Core;
using CaStorage.State.Persistence;
using static CaStorage.State.Actors.FileActorProtocol;

namespace CaStorage.State.Actors;

/// <summary>What a file actor needs for durable opens: the store's writer, this node's name, and who to tell when a
/// disconnected open is closed by the state tier itself.</summary>
internal sealed class DurabilityContext(StoreWriter? writer, string node, Action<FileKey, ExpiredOpen> removed)
{
    public StoreWriter? Writer { get; } = writer;
    /// <summary>In a cluster: the epoch under which this node owns a shard (-1: not owned); store writes carry it.</summary>
    public Func<int, long>? Epochs { get; set; }

    public ShardFence? FenceFor(FileKey file)
    {
        if (Epochs is not { } epochs) return null;
        var shard = OpenId.ShardOf(file);
        return new ShardFence(shard, epochs(shard));
    }
    public string Node { get; } = node;
    public Action<FileKey, ExpiredOpen> Removed { get; } = removed;
    public static readonly DurabilityContext None = new(null, "local", (_, _) => { });
}

/// <summary>
/// Durable and persistent opens (MS-SMB2 3.3.5.9.6-12, 3.3.7.1): kept with their share modes, locks and leases when
/// the connection goes, re-attached on reconnect, closed when their timeout passes or when a break they cannot answer
/// is needed (durable, not persistent). Every change to such an open is written to the store before its reply leaves.
/// </summary>
internal sealed partial class FileActor
{
    private readonly List<OpenEntry> _toPurge = [];
    /// <summary>The store write of the message being handled; its reply waits for the commit.</summary>
    private Task? _persisted;

    public DurabilityContext Durability { get; init; } = DurabilityContext.None;

    internal sealed class DurableState(DurableRequest request, DurableGrant grant)
    {
        public DurableRequest Request { get; set; } = request;
        public DurableGrant Grant { get; } = grant;
        public bool Disconnected { get; set; }
        public long? DisconnectedAtMs { get; set; }
        public long Position { get; set; }
        public ITimer? Expiry { get; set; }
        /// <summary>Identifies the armed expiry timer, so a stale tick after a reconnect does nothing.</summary>
        public object Generation { get; set; } = new();
    }

    private static byte[] NewLockSequences()
    {
        var a = new byte[LockSequence.Buckets + 1];
        a.AsSpan().Fill(0xFF);
        return a;
    }

    /// <summary>
    /// MS-SMB2 3.3.5.14: a LOCK whose bucket holds its sequence number already succeeded; it is not applied twice.
    /// Per bucket the array keeps the last number that succeeded, 0xFF for none.
    /// </summary>
    private bool IsLockReplay(OpenId open, LockSequence? sequence)
    {
        if (sequence is not { } q || !_opens.TryGetValue(open, out var e)) return false;
        var a = e.LockSequences ??= NewLockSequences();
        if (a[q.Bucket] == q.Number) return true;
        a[q.Bucket] = 0xFF; // invalid until this request succeeds
        return false;
    }

    private void RecordLockSequence(OpenId open, LockSequence? sequence)
    {
        if (sequence is { } q && _opens.TryGetValue(open, out var e)) (e.LockSequences ??= NewLockSequences())[q.Bucket] = q.Number;
    }

    private void HandleDurable(Command cmd)
    {
        switch (cmd)
        {
            case Disconnect m: Reply(m.Reply, DoDisconnect(m.Open, m.Position)); break;
            case Reconnect m: Reply(m.Reply, DoReconnect(m.Request)); break;
            case Expire m: DoExpire(m.Open, m.Generation); break;
            case Restore m: Reply(m.Reply, DoRestore(m.Record)); break;
            case UpdatePath m:
                if (_opens.TryGetValue(m.Open, out var e) && e.Durable is { } d) d.Request = d.Request with { Path = m.Path };
                Save(m.Open);
                Reply(m.Reply, true);
                break;
            case Reassert m: Reply(m.Reply, DoReassert(m.Open)); break;
            case OwnersGone m: Reply(m.Reply, DoOwnersGone(m.Prefixes)); break;
            case QueryDurable m: m.Reply.TrySetResult(_opens.TryGetValue(m.Open, out var q) && q.Durable is not null ? Snapshot(q) : null); break;
        }
    }

    private void Reply<T>(TaskCompletionSource<T> reply, T value)
    {
        var persisted = _persisted;
        if (persisted is null || persisted.IsCompleted) { reply.TrySetResult(value); return; }
        // A store error is logged by the writer; the client still gets its answer (durability is then best effort).
        persisted.ContinueWith(_ => reply.TrySetResult(value), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private void GrantDurable(RequestOpen m, OpenEntry entry, OpenDecision decision)
    {
        if (entry.Request.Durable is { } want && !entry.Request.IsDirectory)
        {
            // Durable only with handle caching (a batch oplock or an H lease), persistent whatever the caching
            // (MS-SMB2 3.3.5.9.6 and 3.3.5.9.10).
            var handleCaching = decision.Oplock == OplockLevel.Batch || decision.Lease is { } l && (l.State & LeaseState.Handle) != 0;
            if (want.Persistent || handleCaching)
            {
                var grant = new DurableGrant(want.TimeoutMs, want.Persistent);
                entry.Durable = new DurableState(want, grant);
                decision = decision with { Durable = grant };
                Save(entry);
            }
        }
        Reply(m.Reply, decision);
    }

    private DurableOpenRecord Snapshot(OpenEntry e)
    {
        var d = e.Durable!;
        var r = e.Request;
        LeaseRecord? lease = null;
        if (e.Lease is { } lid && _leases.TryGetValue(lid, out var l))
            lease = new LeaseRecord(lid, Key, l.Breaking ? l.BreakingToRequested : l.State, l.Epoch, l.Version, l.ParentKey);
        var locks = new List<LockRange>();
        foreach (var h in _locks)
            if (h.Open == r.Open) locks.Add(new LockRange(h.Offset, h.Length, h.Exclusive));
        return new DurableOpenRecord
        {
            Id = r.Open,
            File = Key,
            Path = d.Request.Path,
            ClientGuid = d.Request.ClientGuid,
            CreateGuid = d.Request.CreateGuid,
            AppInstanceId = d.Request.AppInstanceId,
            SessionId = d.Request.SessionId,
            UserName = d.Request.UserName,
            UserSid = d.Request.UserSid,
            Access = r.Access,
            ShareAccess = r.Share,
            CreateOptions = d.Request.CreateOptions,
            IsDirectory = r.IsDirectory,
            DeleteOnClose = r.DeleteOnClose,
            DurableVersion = d.Request.Version,
            Persistent = d.Grant.Persistent,
            TimeoutMs = d.Grant.TimeoutMs,
            Oplock = e.BreakingTo ?? e.Oplock,
            Lease = lease,
            Position = d.Position,
            Node = Durability.Node,
            DisconnectedAtMs = d.DisconnectedAtMs,
            Locks = locks,
            LockSequences = e.LockSequences is { } seq ? Convert.ToHexString(seq) : "",
        };
    }

    /// <summary>Writes the open's current state to the store (durable opens only); the reply waits for the commit.</summary>
    private void Save(OpenEntry e)
    {
        if (e.Durable is null || Durability.Writer is not { } w) return;
        _persisted = w.Enqueue(new SaveOpen(Snapshot(e)) { Fence = Durability.FenceFor(Key) });
    }

    private void Save(OpenId id)
    {
        if (_opens.TryGetValue(id, out var e)) Save(e);
    }

    private void SaveLeaseHolders(LeaseId lease)
    {
        foreach (var e in _opens.Values)
            if (e.Lease == lease) Save(e);
    }

    /// <summary>The open left the table (close, expiry, purge): its row goes too.</summary>
    private void Forget(OpenEntry e)
    {
        if (e.Durable is not { } d) return;
        d.Expiry?.Dispose();
        d.Expiry = null;
        if (Durability.Writer is { } w) _persisted = w.Enqueue(new DeleteOpen(e.Request.Open) { Fence = Durability.FenceFor(Key) });
    }

    /// <summary>
    /// MS-SMB2 3.3.7.1: on loss of the connection an open is kept for reconnect when it is persistent, or durable
    /// with its batch oplock or handle lease still held (no break in progress). Otherwise the caller closes it.
    /// </summary>
    private bool DoDisconnect(OpenId id, long position)
    {
        if (!_opens.TryGetValue(id, out var e) || e.Durable is not { } d) return false;
        var keep = d.Grant.Persistent
            || e.Oplock == OplockLevel.Batch && e.BreakingTo is null
            || e.Lease is { } lid && _leases.TryGetValue(lid, out var l) && !l.Breaking && (l.State & LeaseState.Handle) != 0;
        if (!keep) return false;
        d.Disconnected = true;
        d.DisconnectedAtMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        d.Position = position;
        ArmExpiry(e, TimeSpan.FromMilliseconds(d.Grant.TimeoutMs));
        // Lock requests still waiting for this handle end (their connection is gone).
        foreach (var w in _waiters.Where(w => w.Open == id).ToList())
        {
            _waiters.Remove(w);
            w.Reply.TrySetResult(NtStatus.RangeNotLocked);
        }
        Save(e);
        return true;
    }

    private void ArmExpiry(OpenEntry e, TimeSpan after)
    {
        var d = e.Durable!;
        d.Expiry?.Dispose();
        var generation = d.Generation = new object();
        var id = e.Request.Open;
        d.Expiry = _time.CreateTimer(_ => Post(new Expire(id, generation)), null, after < TimeSpan.Zero ? TimeSpan.Zero : after, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The durable open scavenger (MS-SMB2 3.3.2.2): a disconnected open not reclaimed in time is closed.</summary>
    private void DoExpire(OpenId id, object generation)
    {
        if (!_opens.TryGetValue(id, out var e) || e.Durable is not { Disconnected: true } d || !ReferenceEquals(d.Generation, generation)) return;
        _toPurge.Add(e);
    }

    /// <summary>
    /// A disconnected durable (not persistent) open cannot answer a break: it is closed instead (MS-SMB2 3.3.4.6/7).
    /// The caller's loop must not see it go, so it is queued and removed after the loop.
    /// </summary>
    private bool PurgeInsteadOfBreak(OpenEntry e)
    {
        if (e.Durable is not { Disconnected: true, Grant.Persistent: false }) return false;
        if (!_toPurge.Contains(e)) _toPurge.Add(e);
        return true;
    }

    private bool PurgeInsteadOfBreak(LeaseEntry l)
    {
        var holders = _opens.Values.Where(e => e.Lease == l.Id).ToList();
        if (holders.Count == 0 || !holders.All(e => e.Durable is { Disconnected: true, Grant.Persistent: false })) return false;
        foreach (var e in holders)
            if (!_toPurge.Contains(e)) _toPurge.Add(e);
        return true;
    }

    private void ProcessPurges()
    {
        var purge = _toPurge.ToList();
        _toPurge.Clear();
        foreach (var e in purge)
        {
            if (!_opens.ContainsKey(e.Request.Open)) continue;
            var record = Snapshot(e);
            var outcome = DoClose(e.Request.Open);
            Durability.Removed(Key, new ExpiredOpen(record, outcome));
        }
    }

    /// <summary>MS-SMB2 3.3.5.9.7 (DHnC) and 3.3.5.9.12 (DH2C): validate the claim, then move the open to the new connection.</summary>
    private ReconnectResult DoReconnect(ReconnectRequest q)
    {
        var notFound = new ReconnectResult(NtStatus.ObjectNameNotFound);
        if (!_opens.TryGetValue(q.Open, out var e) || e.Durable is not { } d) return notFound;
        if (!d.Disconnected) return notFound with { Busy = true };
        // DH2C names the open by CreateGuid too (zero for a DHnQ open, which a DH2C may reclaim: Samba, reopen2-lease).
        if (q.Version == 2)
        {
            // The ClientGuid matters only with a lease (below): an oplock open may come back from a new client instance.
            if (d.Request.CreateGuid != q.CreateGuid) return notFound;
            if (d.Grant.Persistent && !q.PersistentFlag) return notFound;
        }
        LeaseEntry? lease = null;
        if (e.Lease is { } lid)
        {
            if (d.Request.ClientGuid != q.ClientGuid || q.LeaseKey != lid.Key || !_leases.TryGetValue(lid, out lease)) return notFound;
            if (!e.Request.DeleteOnClose && !SamePath(d.Request.Path, q.Path)) return new ReconnectResult(NtStatus.InvalidParameter);
        }
        else if (q.LeaseKey is not null)
        {
            return notFound;
        }
        if (!string.Equals(d.Request.UserSid, q.UserSid, StringComparison.Ordinal)) return new ReconnectResult(NtStatus.AccessDenied);

        d.Disconnected = false;
        d.DisconnectedAtMs = null;
        d.Expiry?.Dispose();
        d.Expiry = null;
        d.Generation = new object();
        d.Request = d.Request with { SessionId = q.SessionId };
        e.Request = e.Request with { Owner = q.Owner };
        if (lease is not null) lease.Owner = q.Owner;
        var record = Snapshot(e);
        var decision = OpenDecision.Granted with
        {
            Oplock = e.Lease is null ? e.Oplock : OplockLevel.Lease,
            Lease = lease is null ? null : new LeaseGrant(lease.Id, lease.State, lease.Epoch, lease.Breaking, lease.Version, lease.ParentKey)
            {
                BreakTo = lease.BreakingToRequested,
            },
            Durable = d.Grant,
        };
        Save(e);
        return new ReconnectResult(NtStatus.Success, record, decision);
    }

    private static byte[]? ParseLockSequences(string hex)
    {
        try
        {
            var a = Convert.FromHexString(hex);
            if (a.Length == LockSequence.Buckets + 1) return a;
        }
        catch (FormatException)
        {
        }
        return null;
    }

    private static bool SamePath(string stored, string requested) =>
        string.Equals(stored.Replace('/', '\\').Trim('\\'), requested.Replace('/', '\\').Trim('\\'), StringComparison.OrdinalIgnoreCase);

    /// <summary>The clients of a dead member lost their connections all at once: as MS-SMB2 3.3.7.1 for each of their opens.</summary>
    private (List<OpenId>, List<(OpenId, LeaseId?)>) DoOwnersGone(IReadOnlyList<string> prefixes)
    {
        var disconnected = new List<OpenId>();
        var closed = new List<(OpenId, LeaseId?)>();
        foreach (var e in _opens.Values.ToList())
        {
            var owner = e.Request.Owner;
            if (!prefixes.Any(p => owner.StartsWith(p, StringComparison.Ordinal))) continue;
            if (e.Durable is { Disconnected: true }) continue;
            var id = e.Request.Open;
            if (DoDisconnect(id, e.Durable?.Position ?? 0)) disconnected.Add(id);
            else closed.Add((id, DoClose(id).Lease));
        }
        return (disconnected, closed);
    }

    /// <summary>
    /// A new owner of this file's shard hears of an open a connected client holds (through any node): it goes into the
    /// table as it is, without conflict checks (it was granted by the previous owner); a restored durable open of the
    /// same id is connected again.
    /// </summary>
    private bool DoReassert(ReassertedOpen o)
    {
        var id = o.Request.Open;
        if (_opens.TryGetValue(id, out var existing))
        {
            existing.Request = existing.Request with { Owner = o.Request.Owner };
            existing.Oplock = o.Oplock;
            if (existing.Durable is { } d)
            {
                d.Disconnected = false;
                d.DisconnectedAtMs = null;
                d.Expiry?.Dispose();
                d.Expiry = null;
                d.Generation = new object();
            }
            if (existing.Lease is { } lid && _leases.TryGetValue(lid, out var held)) held.Owner = o.Request.Owner;
            Save(existing);
            return false;
        }
        var e = new OpenEntry(o.Request) { Oplock = o.Oplock };
        if (o.Durable is { } g && o.Request.Durable is { } dr) e.Durable = new DurableState(dr, g);
        if (o.Lease is { } lg)
        {
            if (!_leases.TryGetValue(lg.Id, out var lease))
            {
                lease = new LeaseEntry(lg.Id, lg.Version, lg.ParentKey, o.Request.Owner) { State = lg.State, Epoch = lg.Epoch };
                _leases[lg.Id] = lease;
            }
            lease.Opens++;
            e.Lease = lg.Id;
        }
        _opens[id] = e;
        foreach (var l in o.Locks)
            if (!_locks.Contains(new HeldLock(id, l.Offset, l.Length, l.Exclusive))) _locks.Add(new HeldLock(id, l.Offset, l.Length, l.Exclusive));
        Volatile.Write(ref _lockCount, _locks.Count);
        RecountReadCachers();
        Save(e);
        return true;
    }

    /// <summary>After a restart: the open comes back disconnected, with its share mode, locks and lease, for the rest of its timeout.</summary>
    private bool DoRestore(DurableOpenRecord r)
    {
        if (_opens.ContainsKey(r.Id)) return false;
        var request = r.ToOpenRequest(owner: "") with { File = Key };
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var since = r.DisconnectedAtMs ?? now;
        var e = new OpenEntry(request)
        {
            Oplock = r.Lease is null ? r.Oplock : OplockLevel.None,
            Durable = new DurableState(request.Durable!, new DurableGrant(r.TimeoutMs, r.Persistent))
            {
                Disconnected = true,
                DisconnectedAtMs = since,
                Position = r.Position,
            },
            LockSequences = ParseLockSequences(r.LockSequences),
        };
        if (r.Lease is { } rl)
        {
            if (!_leases.TryGetValue(rl.Id, out var lease))
            {
                lease = new LeaseEntry(rl.Id, rl.Version, rl.ParentKey, "") { State = rl.State, Epoch = rl.Epoch };
                _leases[rl.Id] = lease;
            }
            lease.Opens++;
            e.Lease = rl.Id;
        }
        _opens[r.Id] = e;
        foreach (var l in r.Locks) _locks.Add(new HeldLock(r.Id, l.Offset, l.Length, l.Exclusive));
        Volatile.Write(ref _lockCount, _locks.Count);
        RecountReadCachers();
        ArmExpiry(e, TimeSpan.FromMilliseconds(r.TimeoutMs - (now - since)));
        Save(e);
        return true;
    }
}
