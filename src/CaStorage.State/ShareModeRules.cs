using CaStorage.Core;

namespace CaStorage.State;

/// <summary>The Windows share-mode compatibility check (MS-FSA 2.1.5.1.2, "share access check").</summary>
public static class ShareModeRules
{
    private const AccessMask ReadLike = AccessMask.FileReadData | AccessMask.FileExecute;
    private const AccessMask WriteLike = AccessMask.FileWriteData | AccessMask.FileAppendData;

    /// <summary>Only opens that touch data or may delete take part in share modes (stat opens do not).</summary>
    public static bool TakesShareMode(AccessMask access) => (access & (ReadLike | WriteLike | AccessMask.Delete)) != 0;

    public static bool Conflicts(AccessMask existingAccess, ShareAccess existingShare, AccessMask newAccess, ShareAccess newShare)
    {
        if (!TakesShareMode(existingAccess) || !TakesShareMode(newAccess)) return false;
        if ((newAccess & ReadLike) != 0 && (existingShare & ShareAccess.Read) == 0) return true;
        if ((newAccess & WriteLike) != 0 && (existingShare & ShareAccess.Write) == 0) return true;
        if ((newAccess & AccessMask.Delete) != 0 && (existingShare & ShareAccess.Delete) == 0) return true;
        if ((existingAccess & ReadLike) != 0 && (newShare & ShareAccess.Read) == 0) return true;
        if ((existingAccess & WriteLike) != 0 && (newShare & ShareAccess.Write) == 0) return true;
        if ((existingAccess & AccessMask.Delete) != 0 && (newShare & ShareAccess.Delete) == 0) return true;
        return false;
    }
}
