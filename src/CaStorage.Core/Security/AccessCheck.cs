namespace CaStorage.Core.Security;

/// <summary>
/// The access check of MS-DTYP 2.5.3.2, for a token without privileges and objects without object types (files and
/// directories; GENERIC_* bits use the file mapping, which is the same for both).
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>A NULL DACL (or none) grants everything asked for; MAXIMUM_ALLOWED then yields FILE_ALL_ACCESS.</item>
/// <item>The owner (a SID of the token) implicitly holds READ_CONTROL and WRITE_DAC, unless the DACL has an
/// OWNER RIGHTS (S-1-3-4) ACE, which then applies to the owner instead.</item>
/// <item>ACEs are evaluated in order and inherit-only ACEs are skipped: the first ACE to decide a bit wins, so a deny
/// after an allow of the same bit has no effect.</item>
/// <item>Object ACEs apply only when they name no object type; allow callback (conditional) ACEs are never satisfied;
/// deny callback ACEs always apply (the conservative reading of an unevaluable condition).</item>
/// <item>ACCESS_SYSTEM_SECURITY needs a privilege and is never granted here; callers refuse it first.</item>
/// </list>
/// </remarks>
public static class AccessCheck
{
    private const AccessMask OwnerImplicit = AccessMask.ReadControl | AccessMask.WriteDac;

    /// <summary>
    /// Checks <paramref name="desired"/> (GENERIC_* bits allowed; MAXIMUM_ALLOWED asks for everything the descriptor
    /// grants on top of the other bits). On success <paramref name="granted"/> is the mapped desired access, or with
    /// MAXIMUM_ALLOWED everything granted; otherwise AccessDenied.
    /// </summary>
    public static NtStatus Check(SecurityDescriptor sd, SecurityToken token, AccessMask desired, out AccessMask granted)
    {
        ArgumentNullException.ThrowIfNull(sd);
        ArgumentNullException.ThrowIfNull(token);
        var maximum = (desired & AccessMask.MaximumAllowed) != 0;
        var wanted = desired.MapGeneric() & ~(AccessMask.MaximumAllowed | AccessMask.AccessSystemSecurity);
        granted = AccessMask.None;
        if ((desired & AccessMask.AccessSystemSecurity) != 0) return NtStatus.PrivilegeNotHeld;
        if (maximum)
        {
            var max = MaximumAllowed(sd, token);
            if ((wanted & ~max) != 0) return NtStatus.AccessDenied;
            granted = max | wanted;
            return NtStatus.Success;
        }
        if (!IsGranted(sd, token, wanted)) return NtStatus.AccessDenied;
        granted = wanted;
        return NtStatus.Success;
    }

    /// <summary>True when every bit of <paramref name="desired"/> (mapped, no MAXIMUM_ALLOWED) is granted.</summary>
    public static bool IsGranted(SecurityDescriptor sd, SecurityToken token, AccessMask desired)
    {
        var remaining = desired.MapGeneric() & ~AccessMask.MaximumAllowed;
        if (remaining == AccessMask.None) return true;
        if (sd.IsNullDacl) return true;
        var ownerInToken = sd.Owner is not null && token.Contains(sd.Owner);
        if (ownerInToken && !HasOwnerRightsAce(sd.Dacl!)) remaining &= ~OwnerImplicit;
        foreach (var ace in sd.Dacl!.Aces)
        {
            if (remaining == AccessMask.None) return true;
            var kind = KindOf(ace);
            if (kind == AceKind.Ignored || !Applies(ace, token, ownerInToken)) continue;
            var mask = ace.Mask.MapGeneric();
            if (kind == AceKind.Allow) remaining &= ~mask;
            else if ((remaining & mask) != 0) return false;
        }
        return remaining == AccessMask.None;
    }

    /// <summary>Everything the descriptor grants the token (MAXIMUM_ALLOWED), without privileges.</summary>
    public static AccessMask MaximumAllowed(SecurityDescriptor sd, SecurityToken token)
    {
        if (sd.IsNullDacl) return AccessMask.FileAllAccess;
        AccessMask allowed = AccessMask.None, denied = AccessMask.None;
        var ownerInToken = sd.Owner is not null && token.Contains(sd.Owner);
        if (ownerInToken && !HasOwnerRightsAce(sd.Dacl!)) allowed |= OwnerImplicit;
        foreach (var ace in sd.Dacl!.Aces)
        {
            var kind = KindOf(ace);
            if (kind == AceKind.Ignored || !Applies(ace, token, ownerInToken)) continue;
            var mask = ace.Mask.MapGeneric();
            if (kind == AceKind.Allow) allowed |= mask & ~denied;
            else denied |= mask & ~allowed;
        }
        return allowed & ~(AccessMask.MaximumAllowed | AccessMask.AccessSystemSecurity);
    }

    private enum AceKind { Ignored, Allow, Deny }

    private static AceKind KindOf(Ace ace)
    {
        if (ace.IsInheritOnly || ace.Sid is null) return AceKind.Ignored;
        return ace.Type switch
        {
            AceType.AccessAllowed => AceKind.Allow,
            AceType.AccessAllowedObject => ace.HasObjectType ? AceKind.Ignored : AceKind.Allow,
            AceType.AccessDenied or AceType.AccessDeniedCallback => AceKind.Deny,
            AceType.AccessDeniedObject or AceType.AccessDeniedCallbackObject => ace.HasObjectType ? AceKind.Ignored : AceKind.Deny,
            _ => AceKind.Ignored,
        };
    }

    private static bool Applies(Ace ace, SecurityToken token, bool ownerInToken) =>
        token.Contains(ace.Sid!) || (ownerInToken && ace.Sid == WellKnownSids.OwnerRights);

    private static bool HasOwnerRightsAce(Acl dacl) =>
        dacl.Aces.Any(a => !a.IsInheritOnly && a.Sid == WellKnownSids.OwnerRights);
}
