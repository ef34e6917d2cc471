using CaStorage.Core;

namespace CaStorage.State.Inspection;

/// <summary>
/// The sessions, tree connects and opens of this node, for operators (the admin API). The wire layer implements it
/// (its sessions and opens are node-local objects); in a cluster each node answers for its own clients. Views are
/// plain records: no wire types cross this seam.
/// </summary>
public interface ISessionDirectory
{
    IReadOnlyList<SessionView> ListSessions();

    IReadOnlyList<TreeConnectView> ListTreeConnects();

    IReadOnlyList<OpenView> ListOpens();

    int ConnectionCount { get; }

    /// <summary>Closes the open as a CLOSE from its client would (locks and lease released). Null when there is no such open.</summary>
    ValueTask<OpenView?> CloseOpenAsync(OpenId open);

    /// <summary>Ends the session on every channel (trees and opens closed). Null when there is no such session.</summary>
    ValueTask<LogoffResult?> LogoffAsync(ulong sessionId);

    /// <summary>While draining, new client connections are refused; established ones carry on.</summary>
    bool Draining { get; set; }
}

public sealed record SessionView(ulong Id, string User, string Domain, string ClientAddress, string Dialect, bool SigningRequired,
    bool Encrypted, int OpenCount, int TreeCount, int ChannelCount, Guid ClientGuid, bool Guest, bool Anonymous, string State);

public sealed record TreeConnectView(ulong SessionId, uint TreeId, string Share, string User, int OpenCount, bool EncryptData);

/// <param name="Oplock">Granted oplock level (<see cref="OplockLevel"/>; Lease when under <paramref name="Lease"/>).</param>
public sealed record OpenView(OpenId Id, ulong VolatileId, ulong SessionId, uint TreeId, string Share, string Path, string User,
    string ClientAddress, AccessMask Access, byte Oplock, LeaseId? Lease, FileKey File, bool IsDirectory, bool Durable,
    bool Persistent, bool Disconnected);

public sealed record LogoffResult(SessionView Session, int ClosedOpens);
