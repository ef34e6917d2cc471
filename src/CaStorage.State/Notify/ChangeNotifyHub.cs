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

    public NotifyWatch Watch(string share, string directory, bool recursive, NotifyFilter filter, uint bufferLength = uint.MaxValue)
    {
        var w = new NotifyWatch(this, share, directory.Trim('\\'), recursive, filter) { FirstBufferLength = bufferLength };
        lock (_lock)
        {
            if (!_byShare.TryGetValue(share, out var list)) _byShare[share] = list = [];
            list.Add(w);
        }
        return w;
    }

    internal void Remove(NotifyWatch w)
    {
        lock (_lock)
        {
            if (_byShare.TryGetValue(w.Share, out var list)) list.Remove(w);
        }
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
