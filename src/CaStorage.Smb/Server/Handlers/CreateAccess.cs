using CaStorage.Core;
using CaStorage.Core.Security;
using CaStorage.Vfs;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>
/// The access side of CREATE (MS-SMB2 3.3.5.9), kept apart from the handler. Two limits apply to a handle:
/// the share's (TreeConnect.MaximalAccess, checked here) and the file's security descriptor (checked by the VFS
/// opaque module, which knows the descriptors: MS-FSA 2.1.5.1). MAXIMUM_ALLOWED travels to the VFS unresolved and
/// comes back as the descriptor's grant, which is then cut to the share's limit.
/// </summary>
internal static class CreateAccess
{
    /// <summary>The create context that carries the creator's security descriptor (MS-SMB2 2.2.13.2).</summary>
    public const string SecurityDescriptorContext = "SecD";

    /// <summary>DesiredAccess with GENERIC_* mapped to file rights; MAXIMUM_ALLOWED is kept for the VFS to resolve.</summary>
    public static AccessMask Requested(AccessMask desired) => desired.MapGeneric();

    /// <summary>
    /// MS-SMB2 3.3.5.9: access beyond the tree's maximal access is denied before the file is looked at.
    /// SYNCHRONIZE and MAXIMUM_ALLOWED are not limited by the share.
    /// </summary>
    public static bool WithinShare(SmbTreeConnect tree, AccessMask requested) =>
        (requested & ~((AccessMask)tree.MaximalAccess | AccessMask.Synchronize | AccessMask.MaximumAllowed)) == 0;

    /// <summary>
    /// The SecD create context, if any: a self-relative security descriptor applied to a file the request creates.
    /// A malformed one is InvalidParameter (as Samba's NDR parse); one carrying a SACL needs SeSecurityPrivilege,
    /// which no session holds (PrivilegeNotHeld). An owner the caller may not assign is refused by the VFS
    /// (InvalidOwner), and only when the file is actually created.
    /// </summary>
    public static NtStatus CreatorDescriptor(ReadOnlySpan<byte> message, List<CreateHandler.CreateContext> contexts, out SecurityDescriptor? descriptor)
    {
        descriptor = null;
        var ctx = contexts.LastOrDefault(x => x.Name == SecurityDescriptorContext);
        if (ctx is null) return NtStatus.Success;
        if (!SecurityDescriptor.TryParse(message.Slice(ctx.DataStart, ctx.DataLength), out var sd)) return NtStatus.InvalidParameter;
        if (sd.SaclPresent) return NtStatus.PrivilegeNotHeld;
        descriptor = sd;
        return NtStatus.Success;
    }

    /// <summary>
    /// The handle's access after the VFS decided: what it granted, with a MAXIMUM_ALLOWED grant cut to the share's
    /// limit. A delete-on-close open must end up with DELETE (AccessDenied otherwise).
    /// </summary>
    public static NtStatus Granted(SmbTreeConnect tree, AccessMask requested, CreateOptions options, VfsOpenResult result, out AccessMask granted)
    {
        granted = result.GrantedAccess & ~AccessMask.MaximumAllowed;
        if ((requested & AccessMask.MaximumAllowed) != 0)
            granted &= (AccessMask)tree.MaximalAccess | AccessMask.Synchronize | (requested & ~AccessMask.MaximumAllowed);
        if ((options & CreateOptions.DeleteOnClose) != 0 && (granted & AccessMask.Delete) == 0) return NtStatus.AccessDenied;
        return NtStatus.Success;
    }

    /// <summary>The MxAc response value (MS-SMB2 2.2.14.2.5): the descriptor's maximal access within the share's.</summary>
    public static AccessMask Maximal(SmbTreeConnect tree, VfsOpenResult result) =>
        result.MaximalAccess & (AccessMask)tree.MaximalAccess;
}
