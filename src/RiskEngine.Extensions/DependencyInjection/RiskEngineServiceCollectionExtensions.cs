using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using RiskEngine;
using RiskEngine.Policies;
using RiskEngine.State;
using RiskEngine.TwoFactor;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registration of RiskEngine in a service collection.</summary>
public static class RiskEngineServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="IRiskEngine"/> with validated options (validated on host start), the policy they name
    /// (the embedded default when none), <see cref="TimeProvider.System"/> and the in-memory state store unless
    /// the host registered its own, and <see cref="ITwoFactorService"/> with secrets protected by ASP.NET Core Data
    /// Protection, and <c>IPasswordChecker</c>. Register <c>IRiskEventSink</c>s to receive account events (freezes, unfreezes, factor changes).
    /// </summary>
    public static IServiceCollection AddRiskEngine(this IServiceCollection services, Action<RiskEngineOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<RiskEngineOptions>();
        if (configure is not null) options.Configure(configure);
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RiskEngineOptions>, RiskEngineOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IRiskStateStore, InMemoryRiskStateStore>();
        services.TryAddSingleton<IPolicyProvider>(sp => new PolicyHolder(sp.GetRequiredService<IOptions<RiskEngineOptions>>().Value.LoadPolicy()));
        services.TryAddSingleton<IRiskEngine, DefaultRiskEngine>();
        // TOTP secrets are encrypted with Data Protection unless the host brings its own protector (KMS, HSM).
        // Where the key ring lives is the host's Data Protection configuration.
        services.AddDataProtection();
        services.TryAddSingleton<ISecretProtector, DataProtectionSecretProtector>();
        services.TryAddSingleton<ITwoFactorService, TwoFactorService>();
        services.TryAddSingleton<RiskEngine.Passwords.IPasswordChecker, RiskEngine.Passwords.PasswordChecker>();
        return services;
    }
}
