namespace RiskEngine.Server.Auth;

/// <summary>
/// The roles an API key holds, each an authorization policy of the same name: <c>decide</c> (the payment platform:
/// events, self-service TOTP, password checks), <c>support</c> (accounts, freezes, factor resets), <c>admin</c>
/// (everything: it implies the other two).
/// </summary>
internal static class Roles
{
    public const string Decide = "decide";
    public const string Support = "support";
    public const string Admin = "admin";

    public static readonly string[] All = [Decide, Support, Admin];
}
