using System.Collections.Concurrent;
using CaStorage.Core;
using static CaStorage.State.Actors.FileActorProtocol;

namespace CaStorage.State.Actors;

/// <summary>
/// The coordination state of one file (keyed by FileKey, never by path). Processes one message at a time from its
/// mailbox, so share-mode decisions need no other locking. The mailbox runs on the poster's thread when idle
/// (no thread hop on the uncontended path) and drains everything queued meanwhile.
/// </summary>
internal sealed class FileActor
{
    private readonly ConcurrentQueue<Command> _mailbox = new();
    private readonly Dictionary<OpenId, OpenEntry> _opens = new();
    private readonly List<HeldLock> _locks = [];
    private readonly List<RequestLock> _waiters = [];
    private int _lockCount;
    private readonly Action<FileActor> _onIdle;
    private int _running;
    private bool _deletePending;
    private bool _retired;

    public FileActor(FileKey key, Action<FileActor> onIdle)
    {
        Key = key;
        _onIdle = onIdle;
    }

    public FileKey Key { get; }

    /// <summary>Set under the registry lock once the actor is empty and removed; posters then look up again.</summary>
    public bool Retired => Volatile.Read(ref _retired);

    public bool IsEmpty => _opens.Count == 0 && !_deletePending && _mailbox.IsEmpty;

    /// <summary>Held byte-range locks, readable without a message: I/O skips the lock check when there are none.</summary>
    public int LockCount => Volatile.Read(ref _lockCount);

    /// <summary>Bound on held locks per file, so a client cannot grow the table without limit.</summary>
    internal const int MaxLocksPerFile = 100_000;

    private readonly record struct HeldLock(OpenId Open, ulong Offset, ulong Length, bool Exclusive);

    internal void MarkRetired() => Volatile.Write(ref _retired, true);

    private sealed record OpenEntry(OpenRequest Request)
    {
        public bool DeletePendingByThis { get; set; }
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
        if (_opens.Count == 0 && !_deletePending) _onIdle(this);
    }

    private void Handle(Command cmd)
    {
        switch (cmd)
        {
            case RequestOpen m: m.Reply.TrySetResult(DecideOpen(m.Request)); break;
            case Close m: m.Reply.TrySetResult(DoClose(m.Open)); break;
            case SetDeletePending m: m.Reply.TrySetResult(DoSetDeletePending(m.Open, m.Value)); break;
            case QueryDeletePending m: m.Reply.TrySetResult(_deletePending); break;
            case CheckRename m: m.Reply.TrySetResult(DoCheckRename(m.Open)); break;
            case CheckReplace m: m.Reply.TrySetResult(_opens.Count == 0 ? NtStatus.Success : NtStatus.AccessDenied); break;
            case ProbeShareAccess m: m.Reply.TrySetResult(DoProbe(m.Access, m.Share)); break;
            case RequestLock m: DoLock(m); break;
            case CancelLock m:
                if (_waiters.RemoveAll(w => w.Reply == m.Pending) > 0) m.Pending.TrySetResult(NtStatus.Cancelled);
                break;
            case Unlock m: m.Reply.TrySetResult(DoUnlock(m.Open, m.Ranges)); break;
            case CheckIo m: m.Reply.TrySetResult(DoCheckIo(m.Open, m.Offset, m.Length, m.Write)); break;
            case Deleted m: _deletePending = false; m.Reply.TrySetResult(true); break;
        }
    }

    private OpenDecision DecideOpen(OpenRequest req)
    {
        // MS-FSA 2.1.5.1: an open of a delete-pending file fails with STATUS_DELETE_PENDING.
        if (_deletePending) return new OpenDecision(OpenOutcome.DeletePending);
        foreach (var e in _opens.Values)
        {
            if (ShareModeRules.Conflicts(e.Request.Access, e.Request.Share, req.Access, req.Share))
                return new OpenDecision(OpenOutcome.SharingViolation);
        }
        _opens[req.Open] = new OpenEntry(req);
        return OpenDecision.Granted;
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

    private void Grant(OpenId open, IReadOnlyList<LockRange> ranges)
    {
        foreach (var r in ranges) _locks.Add(new HeldLock(open, r.Offset, r.Length, r.Exclusive));
        Volatile.Write(ref _lockCount, _locks.Count);
    }

    private void DoLock(RequestLock m)
    {
        if (!_opens.ContainsKey(m.Open)) { m.Reply.TrySetResult(NtStatus.FileClosed); return; }
        if (CanGrant(m.Open, m.Ranges))
        {
            Grant(m.Open, m.Ranges);
            m.Reply.TrySetResult(NtStatus.Success);
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
                Grant(w.Open, w.Ranges);
                w.Reply.TrySetResult(NtStatus.Success);
                continue;
            }
            i++;
        }
    }

    private NtStatus DoCheckIo(OpenId open, ulong offset, ulong length, bool write)
    {
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
        if (e.Request.DeleteOnClose) _deletePending = true;
        var last = _opens.Count == 0;
        return new CloseOutcome(last && _deletePending, last);
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
