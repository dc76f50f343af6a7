package org.ehrgate.conformance.ehrbase;

import org.ehrbase.configuration.EhrBaseServerConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.actuate.autoconfigure.security.servlet.ManagementWebSecurityAutoConfiguration;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.autoconfigure.r2dbc.R2dbcAutoConfiguration;
import org.springframework.boot.autoconfigure.security.servlet.SecurityAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.annotation.Import;

/**
 * The EHRbase server, started the way EHRbase's own application module
 * starts it (its `EhrBaseServer` at the pinned tag): a servlet application
 * importing {@link EhrBaseServerConfiguration}, which pulls in the service,
 * REST (openEHR and EHRScape) and AQL engine modules.
 *
 * <p>The same three auto-configurations are excluded as there, for the same
 * reasons: EHRbase installs its own security filter chain (Basic, OAuth2 or
 * none, from `security.authType`) and management security, and it has no
 * R2DBC datasource. Everything else (schema migration, caches, plugins)
 * comes from the modules and their `application.yml`; our overrides are in
 * conformance/ehrbase/application.yml, given by run.sh.
 */
@SpringBootApplication(
        exclude = {
            ManagementWebSecurityAutoConfiguration.class,
            R2dbcAutoConfiguration.class,
            SecurityAutoConfiguration.class
        })
@Import(EhrBaseServerConfiguration.class)
// Not final and with the default constructor: Spring subclasses
// configuration classes (CGLIB) to proxy their bean methods.
public class EhrbaseServer {

    public static void main(String[] args) {
        new SpringApplicationBuilder(EhrbaseServer.class)
                .web(WebApplicationType.SERVLET)
                .build(args)
                .run(args);
    }
}
