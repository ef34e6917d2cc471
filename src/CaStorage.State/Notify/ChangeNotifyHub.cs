namespace CaStorage.State.Notify;

/// <summary>
/// Routes changes reported by the server's own operations to the directory watches they concern. Paths are
/// share-relative with backslashes and compared case-insensitively (as names are). One hub per node today; the
/// cluster forwards reports to the node holding the watch.
/// </summary>
public sealed class ChangeNotifyHub
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<NotifyWatch>> _byShare = new(StringComparer.OrdinalIgnoreCase);
    // The set of watched shares changes rarely; its version orders what peers hear (a restarted node counts higher).
    private readonly long _versionBase = DateTime.UtcNow.Ticks;
    private long _version;
    private readonly Dictionary<string, Task> _announcing = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// In a cluster: told the version and the shares with watches here whenever that set changes. A cluster forwards a
    /// change only to nodes watching its share, so a watch on a share new here waits until the other nodes know.
    /// </summary>
    public Func<long, string[], Task>? SharesWatchedChanged { get; set; }

    /// <summary>The shares with watches here, and the version of that set.</summary>
    public (long Version, string[] Shares) SharesWatched
    {
        get { lock (_lock) return (_versionBase + _version, [.. _byShare.Keys]); }
    }

    public NotifyWatch Watch(string share, string directory, bool recursive, NotifyFilter filter, uint bufferLength = uint.MaxValue)
    {
        var w = new NotifyWatch(this, share, directory.Trim('\\'), recursive, filter) { FirstBufferLength = bufferLength };
        (long, string[])? changed = null;
        TaskCompletionSource? told = null;
        lock (_lock)
        {
            if (!_byShare.TryGetValue(share, out var list)) _byShare[share] = list = [];
            list.Add(w);
            if (list.Count == 1 && SharesWatchedChanged is not null)
            {
                changed = (_versionBase + ++_version, [.. _byShare.Keys]);
                told = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _announcing[share] = told.Task;
            }
        }
        if (changed is var (version, shares)) _ = TellAsync(version, shares, told!);
        return w;
    }

    /// <summary>
    /// Completes once the other nodes of a cluster know that <paramref name="share"/> is watched here (at once on one
    /// node, or when they were told before): a wait on a watch is answered pending only then.
    /// </summary>
    public Task WhenTold(string share)
    {
        lock (_lock) return _announcing.GetValueOrDefault(share) ?? Task.CompletedTask;
    }

    private async Task TellAsync(long version, string[] shares, TaskCompletionSource? done)
    {
        try
        {
            if (SharesWatchedChanged is { } tell) await tell(version, shares).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Best effort: a peer that did not hear learns the set from its next forwarded change's answer.
        }
        finally
        {
            done?.TrySetResult();
        }
    }

    internal void Remove(NotifyWatch w)
    {
        (long, string[])? changed = null;
        lock (_lock)
        {
            if (_byShare.TryGetValue(w.Share, out var list) && list.Remove(w) && list.Count == 0)
            {
                _byShare.Remove(w.Share);
                _announcing.Remove(w.Share);
                if (SharesWatchedChanged is not null) changed = (_versionBase + ++_version, [.. _byShare.Keys]);
            }
        }
        // Not waited for: a peer that still forwards this share's changes for a while only does work for nothing.
        if (changed is var (version, shares)) _ = TellAsync(version, shares, null);
    }

    public int WatchCount { get { lock (_lock) return _byShare.Values.Sum(l => l.Count); } }

    /// <summary>Changes made here are also told to the other nodes of a cluster (their clients' watches see them).</summary>
    public Action<string, string, NotifyAction, NotifyFilter>? Forward { get; set; }

    /// <summary>
    /// The directory at <paramref name="directory"/> became delete-pending: waits on it end with STATUS_DELETE_PENDING
    /// (Windows; Samba's notify_cancel_deleted; smb2.notify.rmdir1-4).
    /// </summary>
    public void DirectoryDeletePending(string share, string directory)
    {
        ForwardDeletePending?.Invoke(share, directory);
        DeliverDeletePending(share, directory);
    }

    /// <summary>In a cluster: a directory made delete-pending here is told to the other nodes' watches too.</summary>
    public Action<string, string>? ForwardDeletePending { get; set; }

    /// <summary>A directory became delete-pending (here, or on a peer that told us): this node's waits on it end.</summary>
    public void DeliverDeletePending(string share, string directory)
    {
        directory = directory.Trim('\\');
        NotifyWatch[] candidates;
        lock (_lock)
        {
            if (!_byShare.TryGetValue(share, out var list) || list.Count == 0) return;
            candidates = [.. list];
        }
        foreach (var w in candidates)
            if (string.Equals(w.Directory, directory, StringComparison.OrdinalIgnoreCase)) w.CancelDeleted();
    }

    /// <summary>Reports a change of the entry at <paramref name="path"/> (share-relative).</summary>
    public void Report(string share, string path, NotifyAction action, NotifyFilter filter)
    {
        Forward?.Invoke(share, path, action, filter);
        Deliver(share, path, action, filter);
    }

    /// <summary>A change to hand to this node's watches only (one a peer reported).</summary>
    public void Deliver(string share, string path, NotifyAction action, NotifyFilter filter)
    {
        NotifyWatch[] candidates;
        lock (_lock)
        {
            if (!_byShare.TryGetValue(share, out var list) || list.Count == 0) return;
            candidates = [.. list];
        }
        path = path.Trim('\\');
        foreach (var w in candidates)
        {
            if ((w.Filter & filter) == 0) continue;
            string? relative = null;
            if (w.Directory.Length == 0) relative = path;
            else if (path.Length > w.Directory.Length + 1 && path.StartsWith(w.Directory, StringComparison.OrdinalIgnoreCase)
                && path[w.Directory.Length] == '\\')
                relative = path[(w.Directory.Length + 1)..];
            if (relative is null || relative.Length == 0) continue;
            if (!w.Recursive && relative.Contains('\\')) continue;
            w.Post(new NotifyEvent(action, relative));
        }
    }
}
