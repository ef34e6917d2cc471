using System.Collections.Concurrent;
using CaStorage.Smb.Security;

namespace CaStorage.Smb.Server;

/// <summary>
/// One connection a session is bound to (MS-SMB2 3.3.1.14 Channel). The channel that created the session signs with
/// Session.SigningKey; every bound channel has its own key, derived during its binding SESSION_SETUP.
/// While a binding is in progress the channel is not yet in the session: it lives in the binding connection's
/// table of pending bindings (Connection.PreauthSessionTable, MS-SMB2 3.3.1.7) with its authentication state.
/// </summary>
internal sealed class SmbChannel(SmbConnection connection)
{
    public SmbConnection Connection { get; } = connection;
    /// <summary>Channel.SigningKey; null for the first channel (it uses Session.SigningKey) and while binding.</summary>
    public byte[]? SigningKey { get; set; }
    /// <summary>The binding's own authentication exchange (null once the channel is established).</summary>
    public SpnegoServerContext? Auth { get; set; }
    /// <summary>3.1.1 binding: PreauthSession.PreauthIntegrityHashValue, chained from the binding connection's negotiate hash.</summary>
    public byte[]? PreauthHash { get; set; }
}

/// <summary>
/// Multichannel (MS-SMB2 3.3.5.5.2): the session's channel list, per-channel signing, and the session's opens, which
/// every channel reaches. Encryption, decryption and application keys stay the session's. The session ends when its
/// last channel goes (or on LOGOFF through any of them).
/// </summary>
internal sealed partial class SmbSession
{
    private readonly Lock _channelLock = new();
    /// <summary>Copy-on-write: readers on other connections take a snapshot without locking.</summary>
    private SmbChannel[] _channels;
    private readonly ConcurrentDictionary<ulong, SmbOpen> _opens = new();

    /// <summary>Session.ChannelList (a snapshot).</summary>
    public IReadOnlyList<SmbChannel> Channels => Volatile.Read(ref _channels);

    public SmbChannel? FindChannel(SmbConnection connection)
    {
        foreach (var ch in Volatile.Read(ref _channels))
            if (ReferenceEquals(ch.Connection, connection)) return ch;
        return null;
    }

    /// <summary>Adds an established channel. False when the session already ended (no channel left) or the connection is bound already.</summary>
    public bool TryAddChannel(SmbChannel channel)
    {
        lock (_channelLock)
        {
            if (_channels.Length == 0 || State == SessionState.Expired) return false;
            foreach (var ch in _channels)
                if (ReferenceEquals(ch.Connection, channel.Connection)) return false;
            _channels = [.. _channels, channel];
            return true;
        }
    }

    /// <summary>Marks the session expired (it takes no further channel) and returns its channels.</summary>
    public IReadOnlyList<SmbChannel> Expire()
    {
        lock (_channelLock)
        {
            State = SessionState.Expired;
            return _channels;
        }
    }

    /// <summary>Removes the channel of <paramref name="connection"/>; returns how many channels remain.</summary>
    public int RemoveChannel(SmbConnection connection)
    {
        lock (_channelLock)
        {
            _channels = [.. _channels.Where(ch => !ReferenceEquals(ch.Connection, connection))];
            return _channels.Length;
        }
    }

    /// <summary>
    /// The key and algorithm that sign and verify messages of this session on <paramref name="connection"/>
    /// (MS-SMB2 3.3.5.2.4, 3.3.4.1.1): the channel's own key with the connection's algorithm; otherwise (the first
    /// channel, or a binding still in progress) Session.SigningKey with the session's algorithm.
    /// </summary>
    public bool TryGetSigningKey(SmbConnection connection, out byte[] key, out SigningAlgorithm algorithm)
    {
        if (FindChannel(connection)?.SigningKey is { } channelKey)
        {
            key = channelKey;
            algorithm = connection.SigningAlgorithm;
            return true;
        }
        key = SigningKey!;
        algorithm = Connection.SigningAlgorithm;
        return SigningKey is not null;
    }

    public void Sign(SmbConnection connection, Span<byte> message)
    {
        if (TryGetSigningKey(connection, out var key, out var algorithm)) SmbSigning.Sign(algorithm, key, message);
    }

    /// <summary>Signs with Session.SigningKey and the session's algorithm, whatever the connection.</summary>
    public void SignWithSessionKey(Span<byte> message)
    {
        if (SigningKey is { } key) SmbSigning.Sign(Connection.SigningAlgorithm, key, message);
    }

    public bool Verify(SmbConnection connection, ReadOnlySpan<byte> message) =>
        TryGetSigningKey(connection, out var key, out var algorithm) && SmbSigning.Verify(algorithm, key, message);

    // ---- opens: Session.OpenTable, reachable from every channel ----

    public void AddOpen(SmbOpen open) => _opens[open.VolatileId] = open;
    public bool TryGetOpen(ulong volatileId, out SmbOpen open) => _opens.TryGetValue(volatileId, out open!);
    public bool RemoveOpen(SmbOpen open) => _opens.TryRemove(new KeyValuePair<ulong, SmbOpen>(open.VolatileId, open));
    public ICollection<SmbOpen> Opens => _opens.Values;
}
