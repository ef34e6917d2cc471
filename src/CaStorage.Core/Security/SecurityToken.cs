namespace CaStorage.Core.Security;

/// <summary>
/// The identity an access check is made for (an NT access token, MS-DTYP 2.5.2, reduced to what a file server needs):
/// the user SID, the primary group (default group of new objects) and the group SIDs. No privileges.
/// </summary>
public sealed class SecurityToken
{
    private readonly HashSet<Sid> _sids;

    public SecurityToken(Sid user, Sid primaryGroup, IEnumerable<Sid> groups)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(primaryGroup);
        ArgumentNullException.ThrowIfNull(groups);
        User = user;
        PrimaryGroup = primaryGroup;
        var list = new List<Sid> { primaryGroup };
        foreach (var g in groups)
        {
            if (!list.Contains(g) && g != user) list.Add(g);
        }
        Groups = list;
        _sids = [user, .. list];
    }

    public Sid User { get; }
    public Sid PrimaryGroup { get; }

    /// <summary>Group SIDs, the primary group first.</summary>
    public IReadOnlyList<Sid> Groups { get; }

    /// <summary>Member of BUILTIN\Administrators: may give files to any owner (as SeRestorePrivilege would).</summary>
    public bool IsAdministrator => _sids.Contains(WellKnownSids.BuiltinAdministrators);

    /// <summary>The user SID or one of the groups (MS-DTYP 2.5.3.2: "SID is in the token").</summary>
    public bool Contains(Sid sid) => _sids.Contains(sid);

    /// <summary>
    /// Whether this token may make <paramref name="owner"/> the owner of an object: its own user or one of its groups
    /// (Windows lets a token assign SIDs it holds), or any SID for an administrator.
    /// </summary>
    public bool CanAssignOwner(Sid owner) => IsAdministrator || Contains(owner);

    public override string ToString() => $"{User} [{string.Join(", ", Groups)}]";
}
