using System.Text;

namespace CaStorage.Core.Security;

/// <summary>
/// Gives the configured users stable Windows identities: a local account domain SID
/// (S-1-5-21-&lt;a&gt;-&lt;b&gt;-&lt;c&gt;, configured or derived from the server's name) and one RID per user (configured, or
/// a stable hash of the lower-case user name), and builds their tokens. Every node of a cluster configured alike maps
/// a user to the same SID, so stored security descriptors mean the same thing everywhere.
/// </summary>
/// <remarks>
/// A user's token: the user SID, Domain Users (primary group), Everyone, Authenticated Users, BUILTIN\Users, and
/// BUILTIN\Administrators for a user configured as administrator. A guest: the domain's Guest account, Domain Guests,
/// Everyone, BUILTIN\Guests. Anonymous: ANONYMOUS LOGON only.
/// </remarks>
public sealed class NtIdentityMap
{
    private readonly Dictionary<string, uint> _rids;
    private readonly HashSet<string> _administrators;

    public NtIdentityMap(Sid domainSid, IReadOnlyDictionary<string, uint>? rids = null, IEnumerable<string>? administrators = null)
    {
        ArgumentNullException.ThrowIfNull(domainSid);
        DomainSid = domainSid;
        _rids = new Dictionary<string, uint>(StringComparer.OrdinalIgnoreCase);
        if (rids is not null)
        {
            foreach (var (name, rid) in rids)
            {
                if (rid < WellKnownSids.FirstAccountRid) throw new ArgumentException($"RID {rid} of '{name}' is reserved (below {WellKnownSids.FirstAccountRid})", nameof(rids));
                _rids[name] = rid;
            }
        }
        _administrators = new HashSet<string>(administrators ?? [], StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Identities of a server with no configuration: domain derived from "CASTORAGE".</summary>
    public static NtIdentityMap Default { get; } = new(DomainSidFor("CASTORAGE"));

    public Sid DomainSid { get; }

    /// <summary>A stable domain SID for a server name: S-1-5-21 and three sub-authorities from FNV-1a hashes of it.</summary>
    public static Sid DomainSidFor(string serverName)
    {
        var name = Encoding.UTF8.GetBytes(serverName.ToUpperInvariant());
        var h1 = StableHash.Fnv1a64(name);
        var h2 = StableHash.Fnv1a64([.. name, 0x23]);
        return new Sid(5, 21, (uint)h1, (uint)(h1 >> 32), (uint)h2);
    }

    /// <summary>The default RID of a user name: FirstAccountRid + a stable hash of the lower-case name, below 2^31.</summary>
    public static uint DefaultRidFor(string userName)
    {
        var h = StableHash.Of(userName.ToLowerInvariant());
        return WellKnownSids.FirstAccountRid + (uint)(h % (0x8000_0000UL - WellKnownSids.FirstAccountRid));
    }

    public uint RidOf(string userName) => _rids.TryGetValue(userName, out var rid) ? rid : DefaultRidFor(userName);

    public Sid UserSid(string userName) => DomainSid.Append(RidOf(userName));

    public bool IsAdministrator(string userName) => _administrators.Contains(userName);

    public SecurityToken TokenFor(string userName)
    {
        var groups = new List<Sid> { WellKnownSids.Everyone, WellKnownSids.AuthenticatedUsers, WellKnownSids.BuiltinUsers };
        if (IsAdministrator(userName)) groups.Add(WellKnownSids.BuiltinAdministrators);
        return new SecurityToken(UserSid(userName), DomainSid.Append(WellKnownSids.DomainUsersRid), groups);
    }

    public SecurityToken GuestToken() =>
        new(DomainSid.Append(WellKnownSids.GuestRid), DomainSid.Append(WellKnownSids.DomainGuestsRid),
            [WellKnownSids.Everyone, WellKnownSids.BuiltinGuests]);

    public static SecurityToken AnonymousToken() => new(WellKnownSids.Anonymous, WellKnownSids.Anonymous, []);

    /// <summary>The token of a session: anonymous, guest or a configured user.</summary>
    public SecurityToken TokenFor(string userName, bool isGuest, bool isAnonymous) =>
        isAnonymous ? AnonymousToken() : isGuest ? GuestToken() : TokenFor(userName);

    /// <summary>
    /// Throws when two of <paramref name="userNames"/> would get the same SID (hash collision or duplicate configured
    /// RID); the fix is an explicit RID.
    /// </summary>
    public void EnsureDistinct(IEnumerable<string> userNames)
    {
        var seen = new Dictionary<uint, string>();
        foreach (var name in userNames.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            var rid = RidOf(name);
            if (seen.TryGetValue(rid, out var other))
                throw new ArgumentException($"users '{other}' and '{name}' map to the same RID {rid}; configure an explicit RID for one of them");
            seen[rid] = name;
        }
    }
}
