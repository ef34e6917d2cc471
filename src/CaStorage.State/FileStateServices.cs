using CaStorage.State.Actors;

namespace CaStorage.State;

/// <summary>Factory for the embedded (all shards local) state tier.</summary>
public static class FileStateServices
{
    public static IFileStateService CreateLocal(int shardCount = LocalFileStateService.DefaultShardCount) => new LocalFileStateService(shardCount);

    /// <summary>All shards local, with break notifications delivered through <paramref name="notifier"/>.</summary>
    public static IFileStateService CreateLocal(IClientNotifier notifier, TimeProvider time, int shardCount = LocalFileStateService.DefaultShardCount)
        => new LocalFileStateService(shardCount, notifier, time);

    /// <summary>All shards local; durable and persistent opens are written through <paramref name="store"/>.</summary>
    public static IFileStateService CreateLocal(IClientNotifier notifier, TimeProvider time, Persistence.StoreWriter store, string node,
        int shardCount = LocalFileStateService.DefaultShardCount)
        => new LocalFileStateService(shardCount, notifier, time, store, node);
}
