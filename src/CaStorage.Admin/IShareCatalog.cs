namespace CaStorage.Admin;

/// <summary>A share as configured (the admin API's view; the host turns it into a VFS stack).</summary>
public sealed record ShareDefinition(string Name, string Path, IReadOnlyList<string> Vfs, IReadOnlyDictionary<string, string> Options,
    bool ReadOnly, bool ContinuouslyAvailable, bool Encrypt)
{
    /// <summary>Whether the share is served CA: asked for, and every module of its stack can reopen by persistent identity.</summary>
    public bool CaEffective { get; init; }
}

/// <summary>
/// The node's shares, changed at run time. The host implements it: it validates a definition by building its VFS
/// stack (unknown module, unknown option, bad name or path → <see cref="ShareValidationException"/>) and swaps the
/// share in, so new tree connects see the change without a restart.
/// </summary>
public interface IShareCatalog
{
    IReadOnlyList<ShareDefinition> List();

    /// <summary>Adds a share; <see cref="ShareValidationException"/> if invalid or the name is taken.</summary>
    ShareDefinition Add(ShareDefinition share);

    /// <summary>Replaces the definition of an existing share (<see cref="KeyNotFoundException"/> when there is none).</summary>
    ShareDefinition Set(ShareDefinition share);

    /// <summary>Removes a share; returns how many tree connects still use it, or null when there is no such share.</summary>
    int? Remove(string name);
}

/// <summary>A share definition the node cannot serve; the message names the problem (INVALID_ARGUMENT).</summary>
public sealed class ShareValidationException(string message) : Exception(message);

/// <summary>A share of that name exists already (ALREADY_EXISTS).</summary>
public sealed class ShareExistsException(string message) : Exception(message);
