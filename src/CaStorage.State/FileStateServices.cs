using CaStorage.State.Actors;

namespace CaStorage.State;

/// <summary>Factory for the embedded (all shards local) state tier.</summary>
public static class FileStateServices
{
    public static IFileStateService CreateLocal(int shardCount = LocalFileStateService.DefaultShardCount) => new LocalFileStateService(shardCount);
}
