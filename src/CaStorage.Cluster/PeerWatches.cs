using System.Collections.Concurrent;

namespace CaStorage.Cluster;

/// <summary>
/// The shares each peer has CHANGE_NOTIFY watches on, as it last told (Watching, or the answer to a forwarded change).
/// A change made here is forwarded only to peers that watch its share, or of which nothing recent is known: a peer
/// that missed an announcement learns better from the answer to the next change it is sent.
/// </summary>
internal sealed class PeerWatches
{
    /// <summary>How long what a peer told is trusted without hearing from it again.</summary>
    private const long FreshMs = 5000;

    private sealed record Known(long Version, HashSet<string> Shares, long HeardAt);

    private readonly ConcurrentDictionary<string, Known> _byNode = new(StringComparer.Ordinal);

    public bool Wants(string node, string share) =>
        !_byNode.TryGetValue(node, out var k) || Environment.TickCount64 - k.HeardAt > FreshMs || k.Shares.Contains(share);

    public void Learn(string node, long version, IEnumerable<string> shares)
    {
        if (version <= 0 || node.Length == 0) return; // a peer that does not tell
        var now = Environment.TickCount64;
        var told = new Known(version, new HashSet<string>(shares, StringComparer.OrdinalIgnoreCase), now);
        _byNode.AddOrUpdate(node, told, (_, old) =>
            version > old.Version ? told : version == old.Version ? old with { HeardAt = now } : old); // an older answer arriving late changes nothing
    }
}
