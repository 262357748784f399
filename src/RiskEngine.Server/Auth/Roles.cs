namespace RiskEngine.Server.Auth;

/// <summary>
/// The roles an API key holds, each an authorization policy of the same name: <c>decide</c> (the payment platform:
/// events, self-service TOTP, password checks), <c>support</c> (accounts, freezes, factor resets), <c>metrics</c>
/// (the Prometheus scrape), <c>admin</c> (everything: it implies the others).
/// </summary>
internal static class Roles
{
    public const string Decide = RiskEngine.Events.EventAuthority.Decide;
    public const string Support = RiskEngine.Events.EventAuthority.Support;
    public const string Admin = "admin";
    public const string Metrics = "metrics";

    public static readonly string[] All = [Decide, Support, Metrics, Admin];

    /// <summary>
    /// The policy of <c>POST /v1/events</c>: a key with <see cref="Decide"/> or <see cref="Support"/>; which event types
    /// it may send is checked per event where the server reads it (<see cref="RiskEngine.Events.EventAuthority"/>).
    /// </summary>
    public const string Events = "events";
}
