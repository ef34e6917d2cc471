using System.Collections.Concurrent;
using CaStorage.Core;
using static CaStorage.State.Actors.FileActorProtocol;

namespace CaStorage.State.Actors;

/// <summary>
/// The coordination state of one file (keyed by FileKey, never by path). Processes one message at a time from its
/// mailbox, so share-mode decisions need no other locking. The mailbox runs on the poster's thread when idle
/// (no thread hop on the uncontended path) and drains everything queued meanwhile.
/// </summary>
internal sealed partial class FileActor
{
    private readonly ConcurrentQueue<Command> _mailbox = new();
    private readonly Dictionary<OpenId, OpenEntry> _opens = new();
    private readonly List<HeldLock> _locks = [];
    private readonly List<RequestLock> _waiters = [];
    private int _lockCount;
    private readonly Action<FileActor> _onIdle;
    private readonly IClientNotifier _notifier;
    private readonly TimeProvider _time;
    private readonly Dictionary<LeaseId, LeaseEntry> _leases = new();
    private readonly List<RequestOpen> _parked = [];
    private readonly List<CheckRename> _parkedRenames = [];
    private int _readCachers;
    private int _running;
    private bool _deletePending;
    private bool _retired;

    public FileActor(FileKey key, Action<FileActor> onIdle, IClientNotifier notifier, TimeProvider time)
    {
        Key = key;
        _onIdle = onIdle;
        _notifier = notifier;
        _time = time;
    }

    /// <summary>How long a break waits for its acknowledgement (MS-SMB2 3.3.2.1 Oplock Break Acknowledgment Timer: 35 s).</summary>
    internal static TimeSpan BreakTimeoutPeriod { get; set; } = TimeSpan.FromSeconds(35);

    /// <summary>Level II oplocks and Read leases on the file: writes must break them, so they take the slow path.</summary>
    public int ReadCacherCount => Volatile.Read(ref _readCachers);

    public FileKey Key { get; }

    /// <summary>Set under the registry lock once the actor is empty and removed; posters then look up again.</summary>
    public bool Retired => Volatile.Read(ref _retired);

    public bool IsEmpty => _opens.Count == 0 && _parked.Count == 0 && _parkedRenames.Count == 0 && !_deletePending && _mailbox.IsEmpty;

    /// <summary>Held byte-range locks, readable without a message: I/O skips the lock check when there are none.</summary>
    public int LockCount => Volatile.Read(ref _lockCount);

    /// <summary>Bound on held locks per file, so a client cannot grow the table without limit.</summary>
    internal const int MaxLocksPerFile = 100_000;

    private readonly record struct HeldLock(OpenId Open, ulong Offset, ulong Length, bool Exclusive);

    internal void MarkRetired() => Volatile.Write(ref _retired, true);

    private sealed record OpenEntry(OpenRequest Request)
    {
        /// <summary>Settable: a reconnect moves the open to the client's new connection (Owner).</summary>
        public OpenRequest Request { get; set; } = Request;
        /// <summary>Set for durable and persistent opens (FileActor.Durable.cs).</summary>
        public DurableState? Durable { get; set; }
        /// <summary>Open.LockSequenceArray, created by the first LOCK that carries a sequence (FileActor.Durable.cs).</summary>
        public byte[]? LockSequences { get; set; }
        public bool DeletePendingByThis { get; set; }
        public byte Oplock { get; set; }
        /// <summary>Set while an oplock break waits for its acknowledgement.</summary>
        public byte? BreakingTo { get; set; }
        public ITimer? BreakTimer { get; set; }
        public LeaseId? Lease { get; set; }
    }

    /// <summary>
    /// A lease as Samba's leases.tdb keeps it: while Breaking, the client was asked to drop to BreakingToRequested;
    /// later opens may lower BreakingToRequired, and the ack then leads to a further break (one step at a time).
    /// </summary>
    private sealed class LeaseEntry(LeaseId id, int version, Guid parentKey, string owner)
    {
        public LeaseId Id { get; } = id;
        public int Version { get; } = version;
        public Guid ParentKey { get; } = parentKey;
        public string Owner { get; set; } = owner;
        public LeaseState State { get; set; }
        public ushort Epoch { get; set; }
        public bool Breaking { get; set; }
        public LeaseState BreakingToRequested { get; set; }
        public LeaseState BreakingToRequired { get; set; }
        public ITimer? BreakTimer { get; set; }
        public int Opens { get; set; }
    }

    public void Post(Command command)
    {
        _mailbox.Enqueue(command);
        if (Interlocked.CompareExchange(ref _running, 1, 0) == 0) Drain();
    }

    private void Drain()
    {
        while (true)
        {
            while (_mailbox.TryDequeue(out var cmd)) Handle(cmd);
            Volatile.Write(ref _running, 0);
            // A message may have arrived between the last dequeue and releasing the flag.
            if (_mailbox.IsEmpty || Interlocked.CompareExchange(ref _running, 1, 0) != 0) break;
        }
        if (_opens.Count == 0 && _parked.Count == 0 && !_deletePending) _onIdle(this);
    }

    private void Handle(Command cmd)
    {
        _persisted = null;
        switch (cmd)
        {
            case RequestOpen m: TryOpen(m, firstAttempt: true); break;
            case AckOplock m: Reply(m.Reply, DoAckOplock(m.Open, m.Level)); break;
            case AckLease m: Reply(m.Reply, DoAckLease(m.Lease, m.State)); break;
            case BreakTimeout m: DoBreakTimeout(m.Target); break;
            case Close m: Reply(m.Reply, DoClose(m.Open)); break;
            case SetDeletePending m: m.Reply.TrySetResult(DoSetDeletePending(m.Open, m.Value)); break;
            case QueryDeletePending m: m.Reply.TrySetResult(_deletePending); break;
            case CheckRename m: TryRename(m); break;
            case BreakReadCaching m: BreakReadCaches(m.Open); m.Reply.TrySetResult(true); break;
            case CheckReplace m: m.Reply.TrySetResult(_opens.Count == 0 ? NtStatus.Success : NtStatus.AccessDenied); break;
            case ProbeShareAccess m: m.Reply.TrySetResult(DoProbe(m.Access, m.Share)); break;
            case RequestLock m: DoLock(m); break;
            case CancelLock m:
                if (_waiters.RemoveAll(w => w.Reply == m.Pending) > 0) m.Pending.TrySetResult(NtStatus.Cancelled);
                break;
            case Unlock m:
                if (IsLockReplay(m.Open, m.Sequence)) { m.Reply.TrySetResult(NtStatus.Success); break; }
                var unlocked = DoUnlock(m.Open, m.Ranges);
                if (unlocked == NtStatus.Success) RecordLockSequence(m.Open, m.Sequence);
                Reply(m.Reply, unlocked);
                break;
            case CheckIo m: m.Reply.TrySetResult(DoCheckIo(m.Open, m.Offset, m.Length, m.Write)); break;
            case Deleted m: _deletePending = false; m.Reply.TrySetResult(true); break;
            case TakeSnapshot m: m.Reply.TrySetResult(DoSnapshot()); break;
            default: HandleDurable(cmd); break;
        }
        if (_toPurge.Count > 0) ProcessPurges();
    }

    // ---- Opens, oplocks and leases -------------------------------------------------------------------------
    //
    // After Samba's delay_for_oplock/grant_fsp_oplock_type (the reference Windows clients are tested against), with
    // oplocks seen as lease states: level II = R, exclusive = RW, batch = RWH. A new open that is not a stat open
    // breaks write caching of every other holder, or handle caching when it would be a sharing violation (the holder
    // may close), or all caching when it overwrites. It waits while a broken holder had what it needs withdrawn
    // (or, on a retry, while a lease is still breaking); then it gets a sharing violation or is granted.

    private const AccessMask OplockStatBits = AccessMask.Synchronize | AccessMask.FileReadAttributes | AccessMask.FileWriteAttributes;
    private const AccessMask LeaseStatBits = OplockStatBits | AccessMask.ReadControl;

    /// <summary>An open that touches neither data nor security and so never breaks oplocks (Samba is_oplock_stat_open).</summary>
    internal static bool IsOplockStatOpen(AccessMask a) => (a & OplockStatBits) != 0 && (a & ~OplockStatBits) == 0;

    /// <summary>Leases also survive opens that only read the security descriptor (Samba is_lease_stat_open).</summary>
    internal static bool IsLeaseStatOpen(AccessMask a) => (a & LeaseStatBits) != 0 && (a & ~LeaseStatBits) == 0;

    internal static LeaseState OplockCaching(byte level) => level switch
    {
        OplockLevel.LevelII => LeaseState.Read,
        OplockLevel.Exclusive => LeaseState.ReadWrite,
        OplockLevel.Batch => LeaseState.All,
        _ => LeaseState.None,
    };

    private static byte OplockFor(LeaseState s) => s switch
    {
        LeaseState.All => OplockLevel.Batch,
        LeaseState.ReadWrite => OplockLevel.Exclusive,
        LeaseState.Read or LeaseState.ReadHandle => OplockLevel.LevelII,
        _ => OplockLevel.None,
    };

    private static bool SameLease(OpenEntry e, OpenRequest req) => e.Lease is { } l && req.Lease is { } r && l == r.Id;

    private void TryOpen(RequestOpen m, bool firstAttempt)
    {
        var req = m.Request;
        // MS-FSA 2.1.5.1: an open of a delete-pending file fails with STATUS_DELETE_PENDING.
        if (_deletePending) { m.Reply.TrySetResult(new OpenDecision(OpenOutcome.DeletePending)); return; }

        var conflict = false;
        foreach (var e in _opens.Values)
        {
            if (!ShareModeRules.Conflicts(e.Request.Access, e.Request.Share, req.Access, req.Share)) continue;
            conflict = true;
            break;
        }
        // An overwrite writes even without write access (Samba adds FILE_WRITE_DATA for the truncate).
        var access = req.Truncates ? req.Access | AccessMask.FileWriteData : req.Access;
        var delay = !IsOplockStatOpen(access) && BreakForOpen(req, access, conflict, firstAttempt);
        // Disconnected durable opens that had to be broken are gone now: decide again without them.
        if (_toPurge.Count > 0) { ProcessPurges(); TryOpen(m, firstAttempt); return; }
        if (delay)
        {
            _parked.Add(m);
            return;
        }
        if (conflict)
        {
            m.Reply.TrySetResult(new OpenDecision(OpenOutcome.SharingViolation));
            return;
        }
        var entry = new OpenEntry(req);
        _opens[req.Open] = entry;
        GrantDurable(m, entry, Grant(entry));
    }

    /// <summary>Sends the breaks a new open needs; true when it must wait for acknowledgements (Samba delay_for_oplock_fn).</summary>
    private bool BreakForOpen(OpenRequest req, AccessMask access, bool conflict, bool firstAttempt)
    {
        var delayMask = conflict ? LeaseState.Handle : LeaseState.Write;
        // An overwrite invalidates every cache at once (Samba breaks to none directly).
        LeaseState Target(LeaseState held) => req.Truncates ? LeaseState.None : held & ~delayMask;
        var delay = false;
        foreach (var e in _opens.Values)
        {
            if (e.Lease is not null || e.Oplock == OplockLevel.None) continue;
            var held = OplockCaching(e.Oplock);
            var to = Target(held);
            if ((held & ~to) == 0) continue;
            if (e.Oplock == OplockLevel.LevelII) DropLevelII(e);
            // Oplocks only break to level II or none.
            else if (e.BreakingTo is null) BreakOplock(e, (to & LeaseState.Read) != 0 ? OplockLevel.LevelII : OplockLevel.None);
            if ((held & delayMask) != 0) delay = true;
        }
        if (IsLeaseStatOpen(access)) return delay;
        foreach (var l in _leases.Values)
        {
            if (req.Lease is { } r && r.Id == l.Id) continue;
            var held = l.State;
            var to = Target(held);
            if ((held & ~to) == 0)
            {
                if (l.Breaking) delay = true;
                continue;
            }
            var wasBreaking = l.Breaking;
            BreakLease(l, to);
            if ((held & delayMask) != 0 || (wasBreaking && !firstAttempt)) delay = true;
        }
        return delay;
    }

    private OpenDecision Grant(OpenEntry entry)
    {
        var req = entry.Request;
        var lr = req.RequestedOplock == OplockLevel.Lease ? req.Lease : null;
        // No directory leasing or oplocks are offered (SMB2_GLOBAL_CAP_DIRECTORY_LEASING is not announced).
        if (req.IsDirectory) return OpenDecision.Granted;

        var granted = lr is not null ? ValidRequest(lr.State) : OplockCaching(req.RequestedOplock);
        // After Samba's grant_fsp_oplock_type: write caching only to a file's single opener (stat opens that cache
        // nothing do not count, as on Windows: smb2.lease.statopen3); nothing beside another's write caching (a stat
        // open does not break it); oplocks do not mix with others' handle caching. (Samba also withholds read caching
        // from a file with byte-range locks; Windows does not, and no conformance test asks for it.)
        var selfStat = IsOplockStatOpen(req.Access);
        bool gotHandle = false, gotOplock = false;
        foreach (var o in _opens.Values)
        {
            if (o == entry || (lr is not null && o.Lease == lr.Id)) continue;
            var caching = o.Lease is { } ol ? (_leases.TryGetValue(ol, out var other) ? other.State : LeaseState.None) : OplockCaching(o.Oplock);
            if (caching == LeaseState.None && IsOplockStatOpen(o.Request.Access)) continue;
            if ((caching & LeaseState.Write) != 0) granted = LeaseState.None;
            else if (!selfStat || caching != LeaseState.None || lr is null) granted &= ~LeaseState.Write;
            if ((caching & LeaseState.Handle) != 0) gotHandle = true;
            if (o.Lease is null && caching != LeaseState.None) gotOplock = true;
        }
        if ((granted & LeaseState.Read) == 0) granted = LeaseState.None;

        if (lr is null)
        {
            entry.Oplock = gotHandle ? OplockLevel.None : OplockFor(granted);
            RecountReadCachers();
            return OpenDecision.Granted with { Oplock = entry.Oplock };
        }

        if (gotOplock) granted &= ~LeaseState.Handle;
        if (!_leases.TryGetValue(lr.Id, out var lease))
        {
            lease = new LeaseEntry(lr.Id, lr.Version, lr.ParentKey, req.Owner)
            {
                State = granted,
                Epoch = lr.Version == 2 ? (ushort)(lr.Epoch + 1) : (ushort)0,
            };
            _leases[lr.Id] = lease;
        }
        else
        {
            // Samba try_lease_upgrade: only a strict superset, granted in full, outside a break, changes the lease.
            var requested = lr.State;
            var upgrade = (lease.State & requested) == lease.State && granted != lease.State && granted == requested && !lease.Breaking;
            if (upgrade)
            {
                lease.State = granted;
                if (lease.Version == 2) lease.Epoch++;
            }
        }
        lease.Opens++;
        entry.Lease = lr.Id;
        RecountReadCachers();
        return OpenDecision.Granted with
        {
            Oplock = OplockLevel.Lease,
            Lease = new LeaseGrant(lease.Id, lease.State, lease.Epoch, lease.Breaking, lease.Version, lease.ParentKey),
        };
    }

    /// <summary>What a lease request can be granted at most: R, RH, RW or RWH; anything else gets none (MS-SMB2 3.3.5.9.8).</summary>
    private static LeaseState ValidRequest(LeaseState s) => s is LeaseState.Read or LeaseState.ReadHandle or LeaseState.ReadWrite or LeaseState.All ? s : LeaseState.None;

    private void BreakOplock(OpenEntry e, byte to)
    {
        if (PurgeInsteadOfBreak(e)) return;
        e.BreakingTo = to;
        e.BreakTimer = _time.CreateTimer(_ => Post(new BreakTimeout(e)), null, BreakTimeoutPeriod, Timeout.InfiniteTimeSpan);
        _notifier.OplockBreak(e.Request.Owner, e.Request.Open, to);
    }

    /// <summary>Level II oplocks break to none without an acknowledgement (MS-SMB2 3.3.4.6).</summary>
    private void DropLevelII(OpenEntry e)
    {
        e.Oplock = OplockLevel.None;
        _notifier.OplockBreak(e.Request.Owner, e.Request.Open, OplockLevel.None);
    }

    /// <summary>Asks a lease holder to give up what <paramref name="to"/> lacks (Samba process_oplock_break_message).</summary>
    private void BreakLease(LeaseEntry l, LeaseState to)
    {
        if (PurgeInsteadOfBreak(l)) return;
        to &= l.State;
        if (l.Breaking)
        {
            // A break in progress only lowers its floor; the client hears of it after its acknowledgement.
            l.BreakingToRequired &= to;
            return;
        }
        if (l.State == to) return;
        var from = l.State;
        if (l.Version == 2) l.Epoch++;
        if (from == LeaseState.Read)
        {
            // Read caching alone is withdrawn without an acknowledgement (MS-SMB2 3.3.4.7).
            l.State = LeaseState.None;
            _notifier.LeaseBreak(l.Owner, l.Id, from, LeaseState.None, l.Epoch, false, l.Version);
        }
        else
        {
            l.Breaking = true;
            l.BreakingToRequested = l.BreakingToRequired = to;
            l.BreakTimer?.Dispose();
            l.BreakTimer = _time.CreateTimer(_ => Post(new BreakTimeout(l)), null, BreakTimeoutPeriod, Timeout.InfiniteTimeSpan);
            _notifier.LeaseBreak(l.Owner, l.Id, from, to, l.Epoch, true, l.Version);
        }
        RecountReadCachers();
    }

    /// <summary>
    /// A write, truncation or byte-range lock through <paramref name="writer"/> ends read caching: every level II oplock
    /// (the writer's own too, as Windows does) and every read lease but the writer's (Samba contend_level2_oplocks).
    /// </summary>
    private void BreakReadCaches(OpenId writer)
    {
        if (_readCachers == 0) return;
        _opens.TryGetValue(writer, out var w);
        foreach (var e in _opens.Values)
            if (e.Lease is null && e.Oplock == OplockLevel.LevelII) DropLevelII(e);
        foreach (var l in _leases.Values)
        {
            if (w?.Lease == l.Id) continue;
            if ((l.State & LeaseState.Read) != 0) BreakLease(l, LeaseState.None);
        }
        RecountReadCachers();
    }

    private void RecountReadCachers()
    {
        var n = _opens.Values.Count(e => e.Lease is null && e.Oplock == OplockLevel.LevelII) + _leases.Values.Count(l => (l.State & LeaseState.Read) != 0);
        Volatile.Write(ref _readCachers, n);
    }

    private (NtStatus, byte) DoAckOplock(OpenId id, byte level)
    {
        if (!_opens.TryGetValue(id, out var e)) return (NtStatus.FileClosed, 0);
        // MS-SMB2 3.3.5.22.1: an acknowledgement without a break in progress is a protocol error.
        if (e.BreakingTo is not { } to) return (NtStatus.InvalidOplockProtocol, 0);
        if (level > to && !(to == OplockLevel.LevelII && level == OplockLevel.LevelII)) return (NtStatus.InvalidOplockProtocol, 0);
        e.Oplock = level is OplockLevel.LevelII or OplockLevel.None ? level : to;
        e.BreakingTo = null;
        e.BreakTimer?.Dispose();
        e.BreakTimer = null;
        Save(e);
        RecountReadCachers();
        RetryParked();
        return (NtStatus.Success, e.Oplock);
    }

    /// <summary>A lease break acknowledgement (Samba downgrade_lease, MS-SMB2 3.3.5.22.2).</summary>
    private NtStatus DoAckLease(LeaseId id, LeaseState state)
    {
        if (!_leases.TryGetValue(id, out var l)) return NtStatus.ObjectNameNotFound;
        if (!l.Breaking) return NtStatus.Unsuccessful;
        // The client may keep at most what the break allowed.
        if ((state & ~l.BreakingToRequested) != 0) return NtStatus.RequestNotAccepted;
        l.State = state;
        l.BreakTimer?.Dispose();
        l.BreakTimer = null;
        if ((state & ~l.BreakingToRequired) != 0)
        {
            // Later opens need more: break again, one step at a time as Windows does (smb2.lease.breaking3).
            var next = l.BreakingToRequired;
            if ((state & (LeaseState.Write | LeaseState.Handle)) != 0)
            {
                next = (next | LeaseState.Read) & state;
                l.BreakingToRequested = next;
                l.BreakTimer = _time.CreateTimer(_ => Post(new BreakTimeout(l)), null, BreakTimeoutPeriod, Timeout.InfiniteTimeSpan);
                _notifier.LeaseBreak(l.Owner, l.Id, state, next, l.Epoch, true, l.Version);
            }
            else
            {
                l.State = LeaseState.None;
                l.Breaking = false;
                l.BreakingToRequested = l.BreakingToRequired = LeaseState.None;
                _notifier.LeaseBreak(l.Owner, l.Id, state, LeaseState.None, l.Epoch, false, l.Version);
            }
        }
        else
        {
            l.Breaking = false;
            l.BreakingToRequested = l.BreakingToRequired = LeaseState.None;
        }
        SaveLeaseHolders(l.Id);
        RecountReadCachers();
        RetryParked();
        return NtStatus.Success;
    }

    private void DoBreakTimeout(object target)
    {
        switch (target)
        {
            case OpenEntry e when e.BreakingTo is not null && _opens.ContainsValue(e):
                // A holder that never acknowledges loses its oplock (MS-SMB2 3.3.2.1).
                e.Oplock = OplockLevel.None;
                e.BreakingTo = null;
                e.BreakTimer?.Dispose();
                break;
            case LeaseEntry l when l.Breaking && _leases.ContainsValue(l):
                // ... and its lease (smb2.lease.timeout: the state is none afterwards, a late ack is refused).
                l.State = LeaseState.None;
                l.Breaking = false;
                l.BreakingToRequested = l.BreakingToRequired = LeaseState.None;
                l.BreakTimer?.Dispose();
                break;
            default:
                return;
        }
        RecountReadCachers();
        RetryParked();
    }

    private void RetryParked()
    {
        if (_parkedRenames.Count > 0)
        {
            var renames = _parkedRenames.ToList();
            _parkedRenames.Clear();
            foreach (var r in renames) TryRename(r);
        }
        if (_parked.Count == 0) return;
        var again = _parked.ToList();
        _parked.Clear();
        foreach (var m in again)
            if (!m.Reply.Task.IsCompleted) TryOpen(m, firstAttempt: false);
    }

    private bool CanGrant(OpenId open, IReadOnlyList<LockRange> ranges)
    {
        for (var i = 0; i < ranges.Count; i++)
        {
            var r = ranges[i];
            foreach (var h in _locks)
                if (LockRules.LockConflicts(h.Exclusive, h.Open == open, r, h.Offset, h.Length)) return false;
            // Elements of one request must not conflict with each other either (all or nothing).
            for (var j = 0; j < i; j++)
                if (LockRules.LockConflicts(ranges[j].Exclusive, true, r, ranges[j].Offset, ranges[j].Length) && (r.Exclusive || ranges[j].Exclusive))
                    return false;
        }
        return _locks.Count + ranges.Count <= MaxLocksPerFile;
    }

    private void GrantLocks(OpenId open, IReadOnlyList<LockRange> ranges)
    {
        foreach (var r in ranges) _locks.Add(new HeldLock(open, r.Offset, r.Length, r.Exclusive));
        Volatile.Write(ref _lockCount, _locks.Count);
    }

    private void DoLock(RequestLock m)
    {
        if (!_opens.ContainsKey(m.Open)) { m.Reply.TrySetResult(NtStatus.FileClosed); return; }
        if (IsLockReplay(m.Open, m.Sequence)) { m.Reply.TrySetResult(NtStatus.Success); return; }
        // Byte-range locks end other opens' read caching (Windows breaks level II oplocks on lock).
        BreakReadCaches(m.Open);
        if (CanGrant(m.Open, m.Ranges))
        {
            GrantLocks(m.Open, m.Ranges);
            RecordLockSequence(m.Open, m.Sequence);
            Save(m.Open);
            Reply(m.Reply, NtStatus.Success);
        }
        else if (m.FailImmediately)
        {
            m.Reply.TrySetResult(NtStatus.LockNotGranted);
        }
        else
        {
            // Waits in the actor, in arrival order, until an unlock or close lets it through.
            _waiters.Add(m);
        }
    }

    private NtStatus DoUnlock(OpenId open, IReadOnlyList<LockRange> ranges)
    {
        // Every range must match a lock this open holds exactly (MS-FSA 2.1.5.8); all checked before any is released.
        var picked = new List<int>(ranges.Count);
        foreach (var r in ranges)
        {
            var idx = -1;
            for (var i = 0; i < _locks.Count; i++)
            {
                var h = _locks[i];
                if (h.Open == open && h.Offset == r.Offset && h.Length == r.Length && !picked.Contains(i)) { idx = i; break; }
            }
            if (idx < 0) return NtStatus.RangeNotLocked;
            picked.Add(idx);
        }
        picked.Sort();
        for (var i = picked.Count - 1; i >= 0; i--) _locks.RemoveAt(picked[i]);
        Volatile.Write(ref _lockCount, _locks.Count);
        Save(open);
        RetryWaiters();
        return NtStatus.Success;
    }

    private void RetryWaiters()
    {
        for (var i = 0; i < _waiters.Count;)
        {
            var w = _waiters[i];
            if (w.Reply.Task.IsCompleted) { _waiters.RemoveAt(i); continue; }
            if (CanGrant(w.Open, w.Ranges))
            {
                _waiters.RemoveAt(i);
                GrantLocks(w.Open, w.Ranges);
                RecordLockSequence(w.Open, w.Sequence);
                Save(w.Open);
                Reply(w.Reply, NtStatus.Success);
                continue;
            }
            i++;
        }
    }

    private NtStatus DoCheckIo(OpenId open, ulong offset, ulong length, bool write)
    {
        if (write) BreakReadCaches(open);
        foreach (var h in _locks)
            if (LockRules.IoConflicts(h.Exclusive, h.Open == open, write, offset, length, h.Offset, h.Length))
                return NtStatus.FileLockConflict;
        return NtStatus.Success;
    }

    private CloseOutcome DoClose(OpenId id)
    {
        if (_locks.RemoveAll(l => l.Open == id) > 0 || _waiters.Count > 0)
        {
            Volatile.Write(ref _lockCount, _locks.Count);
            // A lock still waiting for this handle ends with STATUS_RANGE_NOT_LOCKED (Windows, Samba).
            foreach (var w in _waiters.Where(w => w.Open == id).ToList())
            {
                _waiters.Remove(w);
                w.Reply.TrySetResult(NtStatus.RangeNotLocked);
            }
            RetryWaiters();
        }
        if (!_opens.Remove(id, out var e)) return new CloseOutcome(false, _opens.Count == 0);
        foreach (var r in _parkedRenames.Where(r => r.Open == id).ToList())
        {
            _parkedRenames.Remove(r);
            r.Reply.TrySetResult(NtStatus.FileClosed);
        }
        if (e.Request.DeleteOnClose) _deletePending = true;
        e.BreakTimer?.Dispose();
        Forget(e);
        if (e.Lease is { } lid && _leases.TryGetValue(lid, out var lease) && --lease.Opens == 0)
        {
            lease.BreakTimer?.Dispose();
            _leases.Remove(lid);
        }
        RecountReadCachers();
        var last = _opens.Count == 0;
        RetryParked();
        return new CloseOutcome(last && _deletePending && _opens.Count == 0, last && _opens.Count == 0, e.Lease);
    }

    private NtStatus DoSetDeletePending(OpenId id, bool value)
    {
        if (!_opens.TryGetValue(id, out var e)) return NtStatus.InvalidHandle;
        if (value)
        {
            _deletePending = true;
            e.DeletePendingByThis = true;
        }
        else
        {
            // Clearing the disposition undoes the pending delete (FILE_DISPOSITION_INFORMATION with DeleteFile=FALSE).
            _deletePending = false;
            foreach (var o in _opens.Values) o.DeletePendingByThis = false;
        }
        return NtStatus.Success;
    }

    private NtStatus DoProbe(AccessMask access, ShareAccess share)
    {
        foreach (var e in _opens.Values)
            if (ShareModeRules.Conflicts(e.Request.Access, e.Request.Share, access, share)) return NtStatus.SharingViolation;
        return NtStatus.Success;
    }

    /// <summary>
    /// A rename through a leased open first takes handle caching from the other leases of the file and waits for their
    /// acknowledgements (Samba delay_rename_for_lease_break; smb2.lease.v2_rename, rename_wait), then checks sharing.
    /// </summary>
    private void TryRename(CheckRename m)
    {
        if (!_opens.TryGetValue(m.Open, out var e)) { m.Reply.TrySetResult(NtStatus.FileClosed); return; }
        var wait = false;
        if (e.Lease is { } own)
        {
            foreach (var l in _leases.Values)
            {
                if (l.Id == own || (l.State & LeaseState.Handle) == 0) continue;
                BreakLease(l, l.State & ~LeaseState.Handle);
                wait = true;
            }
        }
        if (wait) _parkedRenames.Add(m);
        else m.Reply.TrySetResult(DoCheckRename(m.Open));
    }

    private NtStatus DoCheckRename(OpenId id)
    {
        foreach (var (oid, e) in _opens)
        {
            if (oid == id) continue;
            // Another open that does not share delete blocks a rename (Windows: STATUS_SHARING_VIOLATION).
            if (ShareModeRules.TakesShareMode(e.Request.Access) && (e.Request.Share & ShareAccess.Delete) == 0)
                return NtStatus.SharingViolation;
        }
        return NtStatus.Success;
    }
}
