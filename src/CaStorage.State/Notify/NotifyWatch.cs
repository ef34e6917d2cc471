namespace CaStorage.State.Notify;

/// <summary>
/// A directory watch of one open. Changes that arrive while no CHANGE_NOTIFY is outstanding are kept (up to a bound,
/// then the watch overflows) and returned by the next wait, as Windows does. Several CHANGE_NOTIFY requests may be
/// outstanding on one handle: they are answered in the order they came (smb2.notify.double).
/// </summary>
public sealed class NotifyWatch : IDisposable
{
    internal const int MaxBuffered = 1024;
    private readonly Lock _lock = new();
    private readonly List<NotifyEvent> _events = [];
    private readonly ChangeNotifyHub _hub;
    private readonly Queue<TaskCompletionSource<NotifyBatch>> _waiters = new();
    private bool _overflow;
    private bool _closed;
    // The directory became delete-pending while no wait was outstanding (a CHANGE_NOTIFY on its way to its wait, or a
    // peer's news arriving first): the next wait ends with it, as Windows fails a new notify on a delete-pending directory.
    private bool _deletePendingUnseen;

    internal NotifyWatch(ChangeNotifyHub hub, string share, string directory, bool recursive, NotifyFilter filter)
    {
        _hub = hub;
        Share = share;
        Directory = directory;
        Recursive = recursive;
        Filter = filter;
    }

    public string Share { get; }
    public string Directory { get; }
    public bool Recursive { get; }
    /// <summary>
    /// The OutputBufferLength of the CHANGE_NOTIFY that set the watch up: Windows sizes the change buffer by it, so
    /// changes that do not fit it give STATUS_NOTIFY_ENUM_DIR for every later request too (smb2.notify.valid-req).
    /// </summary>
    public uint FirstBufferLength { get; init; } = uint.MaxValue;
    /// <summary>The completion filter of the latest CHANGE_NOTIFY on this watch.</summary>
    public NotifyFilter Filter { get; set; }

    internal void Post(NotifyEvent e)
    {
        TaskCompletionSource<NotifyBatch>? w;
        NotifyBatch batch;
        lock (_lock)
        {
            if (_closed) return;
            if (_events.Count >= MaxBuffered) _overflow = true;
            else _events.Add(e);
            if (!_waiters.TryDequeue(out w)) return;
            batch = TakeLocked();
        }
        w.TrySetResult(batch);
    }

    private NotifyBatch TakeLocked()
    {
        var batch = new NotifyBatch(_events.ToArray(), _overflow, _closed);
        _events.Clear();
        _overflow = false;
        return batch;
    }

    /// <summary>Returns buffered changes at once, or waits for the next ones (cancellable).</summary>
    public async ValueTask<NotifyBatch> WaitAsync(CancellationToken ct)
    {
        TaskCompletionSource<NotifyBatch> tcs;
        lock (_lock)
        {
            // Earlier waits are first in line for what is buffered (a closed watch has none waiting).
            if (_closed || (_waiters.Count == 0 && (_events.Count > 0 || _overflow))) return TakeLocked();
            if (_deletePendingUnseen)
            {
                _deletePendingUnseen = false;
                return new NotifyBatch([], false, false, DeletePending: true);
            }
            tcs = new TaskCompletionSource<NotifyBatch>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Enqueue(tcs);
        }
        using var reg = ct.Register(() =>
        {
            lock (_lock) RemoveLocked(tcs);
            tcs.TrySetCanceled(ct);
        });
        return await tcs.Task.ConfigureAwait(false);
    }

    private void RemoveLocked(TaskCompletionSource<NotifyBatch> tcs)
    {
        for (var i = _waiters.Count; i > 0; i--)
        {
            var w = _waiters.Dequeue();
            if (w != tcs) _waiters.Enqueue(w);
        }
    }

    private TaskCompletionSource<NotifyBatch>[] TakeWaitersLocked()
    {
        var all = _waiters.ToArray();
        _waiters.Clear();
        return all;
    }

    /// <summary>The directory became delete-pending: the waits in progress end (buffered changes stay).</summary>
    internal void CancelDeleted()
    {
        TaskCompletionSource<NotifyBatch>[] ws;
        lock (_lock)
        {
            ws = TakeWaitersLocked();
            if (ws.Length == 0 && !_closed) _deletePendingUnseen = true;
        }
        foreach (var w in ws) w.TrySetResult(new NotifyBatch([], false, false, DeletePending: true));
    }

    /// <summary>Anything buffered right now, without waiting.</summary>
    public bool HasPending { get { lock (_lock) return _events.Count > 0 || _overflow; } }

    public void Dispose()
    {
        TaskCompletionSource<NotifyBatch>[] ws;
        lock (_lock)
        {
            if (_closed) return;
            _closed = true;
            ws = TakeWaitersLocked();
        }
        _hub.Remove(this);
        foreach (var w in ws) w.TrySetResult(new NotifyBatch([], false, true));
    }
}
