namespace CaStorage.Smb.Security;

/// <summary>The public door to password hashing: hosts turn a password into the NT hash that is all the server keeps.</summary>
public static class SmbCredentials
{
    public static byte[] NtHashOf(string password) => NtHash.FromPassword(password);
}
