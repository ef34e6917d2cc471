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

    private CloseOutcome DoClose(OpenId id)
    {
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
