using System.Collections.Concurrent;
using CaStorage.Smb.Security;
using CaStorage.Vfs;

namespace CaStorage.Smb.Server;

internal enum SessionState { InProgress, Valid, Expired }

/// <summary>An authenticated (or authenticating) user on a connection. Owns its tree connects.</summary>
internal sealed partial class SmbSession
{
    private readonly ConcurrentDictionary<uint, SmbTreeConnect> _trees = new();
    private int _nextTreeId;

    public SmbSession(ulong id, SmbConnection connection)
    {
        Id = id;
        Connection = connection;
        _channels = [new SmbChannel(connection)];
    }

    public ulong Id { get; }
    /// <summary>Session.Connection: the connection that established the session (its dialect, cipher and signing algorithm are the session's).</summary>
    public SmbConnection Connection { get; }
    public SessionState State { get; set; } = SessionState.InProgress;
    public SpnegoServerContext? Auth { get; set; }
    public VfsUser? User { get; set; }
    public bool IsGuest { get; set; }
    public bool IsAnonymous { get; set; }
    public byte[]? SessionKey { get; set; }
    /// <summary>Session.SigningKey: the key of the first channel; binding requests of further channels are signed with it.</summary>
    public byte[]? SigningKey { get; set; }
    public bool SigningRequired { get; set; }
    /// <summary>SMB 3.1.1: SHA-512 over the connection's negotiate and this session's setup exchange.</summary>
    public byte[]? PreauthHash { get; set; }
    /// <summary>SMB 3.x: the session's encryption and decryption keys; null when it cannot encrypt (2.x, no cipher, guest).</summary>
    public SmbTransformCodec? Encryption { get; set; }
    /// <summary>Session.EncryptData: responses are encrypted (SMB2_SESSION_FLAG_ENCRYPT_DATA was sent).</summary>
    public bool EncryptData { get; set; }
    /// <summary>Unencrypted requests are refused with STATUS_ACCESS_DENIED (MS-SMB2 3.3.5.2.9, RejectUnencryptedAccess).</summary>
    public bool EncryptionRequired { get; set; }

    public bool CanSign => SigningKey is not null;

    public SmbTreeConnect AddTree(SmbShare? share, VfsTreeContext? vfs, bool isPipe)
    {
        while (true)
        {
            var id = (uint)Interlocked.Increment(ref _nextTreeId);
            if (id == 0 || id == uint.MaxValue) continue;
            var t = new SmbTreeConnect(id, this, share, vfs, isPipe);
            if (_trees.TryAdd(id, t)) return t;
        }
    }

    public bool TryGetTree(uint id, out SmbTreeConnect tree) => _trees.TryGetValue(id, out tree!);
    public bool RemoveTree(uint id, out SmbTreeConnect tree) => _trees.TryRemove(id, out tree!);
    public ICollection<SmbTreeConnect> Trees => _trees.Values;
}
