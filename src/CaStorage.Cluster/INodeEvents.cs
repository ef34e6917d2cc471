using CaStorage.State;

namespace CaStorage.Cluster;

/// <summary>What peers ask of this node's SMB layer (served over Breaks: EndSession, CloseOpen, Changed).</summary>
public interface INodeEvents
{
    /// <summary>Ends the session if this node holds it for that user (a reconnect with PreviousSessionId elsewhere).</summary>
    Task EndSessionAsync(ulong sessionId, string user);

    /// <summary>Closes the open if a client of this node holds it; false when it is not here.</summary>
    Task<bool> CloseOpenAsync(OpenId open);

    /// <summary>A change another node made, for this node's watches.</summary>
    void Changed(string share, string path, int action, int filter);

    /// <summary>A directory another node made delete-pending: this node's waits on it end.</summary>
    void DirectoryDeletePending(string share, string directory);
}
