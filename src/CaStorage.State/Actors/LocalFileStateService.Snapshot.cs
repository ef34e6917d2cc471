using CaStorage.State.Inspection;

namespace CaStorage.State.Actors;

internal sealed partial class LocalFileStateService : IFileStateInspector
{
    public int ShardCount => _shards.Length;

    /// <summary>Every shard is local on the embedded single node.</summary>
    public IReadOnlyList<int> OwnedShards => Enumerable.Range(0, _shards.Length).ToArray();

    public async ValueTask<IReadOnlyList<FileStateSnapshot>> SnapshotAsync(CancellationToken ct)
    {
        // Collect the actors under each shard's lock, then ask them outside it (an actor may be busy).
        var actors = new List<FileActor>();
        foreach (var shard in _shards)
            lock (shard) actors.AddRange(shard.Values);
        var replies = new List<Task<FileStateSnapshot>>(actors.Count);
        foreach (var actor in actors)
        {
            var tcs = Tcs<FileStateSnapshot>();
            // A retired actor still drains its mailbox and answers with what it holds (nothing).
            actor.Post(new TakeSnapshot(tcs));
            replies.Add(tcs.Task);
        }
        var all = await Task.WhenAll(replies).WaitAsync(ct).ConfigureAwait(false);
        return all.Where(s => s.Opens.Count > 0 || s.Locks.Count > 0 || s.Leases.Count > 0 || s.DeletePending).ToArray();
    }
}
