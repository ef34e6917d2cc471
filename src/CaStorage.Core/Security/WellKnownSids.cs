namespace CaStorage.Core.Security;

/// <summary>Well-known SIDs (MS-DTYP 2.4.2.4) and the well-known RIDs of an account domain.</summary>
public static class WellKnownSids
{
    /// <summary>S-1-1-0, Everyone.</summary>
    public static readonly Sid Everyone = new(1, 0);
    /// <summary>S-1-3-0, CREATOR OWNER: replaced by the new object's owner when an ACE is inherited.</summary>
    public static readonly Sid CreatorOwner = new(3, 0);
    /// <summary>S-1-3-1, CREATOR GROUP: replaced by the new object's primary group when an ACE is inherited.</summary>
    public static readonly Sid CreatorGroup = new(3, 1);
    /// <summary>S-1-3-4, OWNER RIGHTS: when present in a DACL it replaces the owner's implicit rights.</summary>
    public static readonly Sid OwnerRights = new(3, 4);
    /// <summary>S-1-5-7, ANONYMOUS LOGON.</summary>
    public static readonly Sid Anonymous = new(5, 7);
    /// <summary>S-1-5-11, Authenticated Users.</summary>
    public static readonly Sid AuthenticatedUsers = new(5, 11);
    /// <summary>S-1-5-18, NT AUTHORITY\SYSTEM.</summary>
    public static readonly Sid LocalSystem = new(5, 18);
    /// <summary>S-1-5-32-544, BUILTIN\Administrators.</summary>
    public static readonly Sid BuiltinAdministrators = new(5, 32, 544);
    /// <summary>S-1-5-32-545, BUILTIN\Users.</summary>
    public static readonly Sid BuiltinUsers = new(5, 32, 545);
    /// <summary>S-1-5-32-546, BUILTIN\Guests.</summary>
    public static readonly Sid BuiltinGuests = new(5, 32, 546);

    /// <summary>RID of the Guest account in a domain.</summary>
    public const uint GuestRid = 501;
    /// <summary>RID of Domain Users, the primary group of ordinary accounts.</summary>
    public const uint DomainUsersRid = 513;
    /// <summary>RID of Domain Guests.</summary>
    public const uint DomainGuestsRid = 514;
    /// <summary>Account RIDs below this are reserved for well-known accounts and groups.</summary>
    public const uint FirstAccountRid = 1000;
}
