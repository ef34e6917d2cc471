namespace CaStorage.Core.Security;

/// <summary>
/// The descriptor of a new file or directory (MS-DTYP 2.5.3.4 CreateSecurityDescriptor, simplified the way Samba's
/// se_create_child_secdesc and vfs_acl_xattr do it).
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Owner and group: the creator descriptor's, else the token's user and primary group.</item>
/// <item>DACL: a DACL the creator supplies (SE_DACL_PRESENT, possibly NULL) is taken as given, with GENERIC_* bits of
/// effective ACEs mapped; no inherited ACEs are merged into it (Samba behaviour). Otherwise the parent's inheritable
/// ACEs are inherited (2.5.3.4.2 ComputeACL); if there are none, the token's default DACL (user and SYSTEM, full
/// control) is used.</item>
/// <item>Inheritance: a file takes OI ACEs; a directory takes CI ACEs (still inheritable unless NP) and OI-only ACEs as
/// inherit-only. CREATOR OWNER/CREATOR GROUP are replaced by the new owner/group in the effective copy; where such an
/// ACE (or one with GENERIC_* bits) stays inheritable, a directory gets two ACEs: the effective one and the
/// inheritable original marked inherit-only. Inherited ACEs carry INHERITED_ACE, and the child SE_DACL_AUTO_INHERITED,
/// when the parent's DACL is auto-inherited (Windows and Samba behaviour, smb2.acls.INHERITANCE / INHERITFLAGS).</item>
/// <item>SACL: the creator's if supplied, else the parent's inheritable audit ACEs, if any.</item>
/// </list>
/// </remarks>
public static class SecurityInheritance
{
    public static SecurityDescriptor CreateChild(SecurityDescriptor? parent, SecurityDescriptor? creator, bool isContainer, SecurityToken token)
    {
        ArgumentNullException.ThrowIfNull(token);
        var owner = creator?.Owner ?? token.User;
        var group = creator?.Group ?? token.PrimaryGroup;
        var control = SecurityDescriptorControl.SelfRelative | SecurityDescriptorControl.DaclPresent;

        Acl? dacl;
        if (creator is { DaclPresent: true })
        {
            dacl = creator.Dacl?.MapGenericRights();
            control |= creator.StoredDaclBits;
        }
        else
        {
            var autoInherit = parent is not null && parent.Control.HasFlag(SecurityDescriptorControl.DaclAutoInherited);
            var inherited = parent is { DaclPresent: true, Dacl: not null } ? Inherit(parent.Dacl, isContainer, owner, group, autoInherit) : null;
            if (inherited is not null)
            {
                dacl = inherited;
                if (autoInherit) control |= SecurityDescriptorControl.DaclAutoInherited;
            }
            else
            {
                dacl = DefaultDacl(owner);
            }
        }

        Acl? sacl = null;
        if (creator is { SaclPresent: true })
        {
            sacl = creator.Sacl?.MapGenericRights();
            control |= creator.StoredSaclBits;
        }
        else if (parent is { SaclPresent: true, Sacl: not null })
        {
            var autoInherit = parent.Control.HasFlag(SecurityDescriptorControl.SaclAutoInherited);
            if (Inherit(parent.Sacl, isContainer, owner, group, autoInherit) is { } s)
            {
                sacl = s;
                control |= SecurityDescriptorControl.SaclPresent | (autoInherit ? SecurityDescriptorControl.SaclAutoInherited : 0);
            }
        }

        return new SecurityDescriptor { Control = control, Owner = owner, Group = group, Dacl = dacl, Sacl = sacl };
    }

    /// <summary>A token's default DACL: the owner and SYSTEM with full control.</summary>
    public static Acl DefaultDacl(Sid owner) => new(
    [
        new Ace(AceType.AccessAllowed, AceFlags.None, AccessMask.FileAllAccess, owner),
        new Ace(AceType.AccessAllowed, AceFlags.None, AccessMask.FileAllAccess, WellKnownSids.LocalSystem),
    ]);

    /// <summary>
    /// The ACEs a child inherits from <paramref name="parentAcl"/>; null when none is inheritable to it. They are
    /// marked INHERITED_ACE only under automatic inheritance (the parent's ACL is SE_*_AUTO_INHERITED), as on Windows.
    /// </summary>
    public static Acl? Inherit(Acl parentAcl, bool isContainer, Sid owner, Sid group, bool autoInherit = true)
    {
        var id = autoInherit ? AceFlags.Inherited : AceFlags.None;
        var result = new List<Ace>();
        foreach (var ace in parentAcl.Aces)
        {
            if (ace.Sid is null) continue;
            var f = ace.Flags;
            var oi = (f & AceFlags.ObjectInherit) != 0;
            var ci = (f & AceFlags.ContainerInherit) != 0;
            var np = (f & AceFlags.NoPropagateInherit) != 0;
            var audit = f & (AceFlags.SuccessfulAccess | AceFlags.FailedAccess);
            if (!isContainer)
            {
                if (oi) result.Add(Effective(ace, owner, group, audit | id));
                continue;
            }
            if (ci)
            {
                if (np)
                {
                    result.Add(Effective(ace, owner, group, audit | id));
                    continue;
                }
                var keep = f & (AceFlags.ObjectInherit | AceFlags.ContainerInherit);
                var isCreator = ace.Sid == WellKnownSids.CreatorOwner || ace.Sid == WellKnownSids.CreatorGroup;
                if (isCreator || ace.Mask != ace.Mask.MapGeneric())
                {
                    // MS-DTYP 2.5.3.4.5: the effective ACE for this directory, plus the original kept for its children.
                    result.Add(Effective(ace, owner, group, audit | id));
                    result.Add(ace with { Flags = keep | AceFlags.InheritOnly | id | audit });
                }
                else
                {
                    result.Add(ace with { Flags = keep | id | audit });
                }
            }
            else if (oi && !np)
            {
                // Not for this directory, only passed on to its files.
                result.Add(ace with { Flags = AceFlags.ObjectInherit | AceFlags.InheritOnly | id | audit });
            }
        }
        return result.Count == 0 ? null : new Acl(result, parentAcl.Revision);
    }

    private static Ace Effective(Ace ace, Sid owner, Sid group, AceFlags flags)
    {
        var sid = ace.Sid == WellKnownSids.CreatorOwner ? owner : ace.Sid == WellKnownSids.CreatorGroup ? group : ace.Sid!;
        return ace with { Sid = sid, Mask = ace.Mask.MapGeneric(), Flags = flags };
    }
}
