# Reference values for tests/engines/sampling: run from this directory with
#   Rscript make_reference.R
# Writes inclusion_probabilities.csv, se_data.csv, se_grouped_data.csv and se_reference.csv.
# Software: R 4.2.2, survey 4.1.1, sampling 2.9 (Debian r-base-core, r-cran-survey, r-cran-sampling).
# The tests never call R; they read these files.
suppressMessages({library(sampling); library(survey)})
options(digits = 17)
versions <- sprintf("# %s; survey %s; sampling %s", R.version.string, packageVersion("survey"),
                    packageVersion("sampling"))
write_ref <- function(df, file) {
  con <- file(file, "w")
  writeLines(versions, con)
  write.csv(df, con, row.names = FALSE)
  close(con)
}

## 1. PPS inclusion probabilities with certainty (sampling::inclusionprobabilities).
set.seed(20261123)
cases <- list(
  list(size = c(1, 2, 3, 4), n = 2),
  list(size = c(100, 10, 10, 10, 10), n = 3),                       # one certainty unit
  list(size = c(500, 300, 20, 20, 20, 20, 20, 10, 5, 5), n = 5),   # certainty in two rounds
  list(size = c(0, 3, 0, 7, 1), n = 2),                             # zero sizes
  list(size = round(rlnorm(60, 4, 1)), n = 12),
  list(size = round(rlnorm(200, 3, 1.5)) + 1, n = 20),
  list(size = round(rlnorm(35, 5, 0.6)), n = 8)
)
rows <- list()
for (k in seq_along(cases)) {
  a <- cases[[k]]$size
  rows[[k]] <- data.frame(case = k, unit = seq_along(a), size = a, n = cases[[k]]$n,
                          pi = inclusionprobabilities(a, cases[[k]]$n))
}
write_ref(do.call(rbind, rows), "inclusion_probabilities.csv")

## 2. Replicate standard errors of a mean and a proportion.
# Data: 41 PSUs (an odd number: the last zone is a triple), 5-40 rows each, unequal weights.
n_psu <- 41
m <- sample(5:40, n_psu, replace = TRUE)
d <- data.frame(psu = rep(seq_len(n_psu), m))
d$w <- round(runif(nrow(d), 5, 60), 3)
psu_effect <- rnorm(n_psu, 0, 8)
d$y <- round(500 + psu_effect[d$psu] + rnorm(nrow(d), 0, 90), 3)
d$b <- as.integer(runif(nrow(d)) < plogis(-0.3 + psu_effect[d$psu] / 10))
# Zones: PSUs paired in order 1+2, 3+4, ...; the odd one out (41) joins the last zone (39, 40, 41).
zone_of <- (seq_len(n_psu) - 1) %/% 2
member_of <- (seq_len(n_psu) - 1) %% 2
zone_of[n_psu] <- zone_of[n_psu - 1]; member_of[n_psu] <- 2
d$zone <- zone_of[d$psu]
d$member <- member_of[d$psu]
write_ref(d, "se_data.csv")

ses <- list()
add <- function(name, des) {
  mn <- svymean(~y, des); pr <- svymean(~b, des)
  ses[[length(ses) + 1]] <<- data.frame(case = name, estimate_mean = coef(mn)[[1]], se_mean = SE(mn)[[1]],
                                        estimate_prop = coef(pr)[[1]], se_prop = SE(pr)[[1]])
}
# (a) Full JK2 with the triple = JKn with zones as strata, built by survey itself.
base <- svydesign(ids = ~psu, strata = ~zone, weights = ~w, data = d)
add("jk2_full", as.svrepdesign(base, type = "JKn", mse = TRUE))
# (b) Half JK2 (one replicate per pair: member 0 dropped, member 1 doubled) and, for the triple, three
#     delete-one replicates (the others x 3/2) with rscale 2/3; given to svrepdesign as JKn with rscales.
pairs <- sort(unique(d$zone[d$member == 2]))
pair_zones <- setdiff(sort(unique(d$zone)), pairs)
rep_half <- sapply(pair_zones, function(h) ifelse(d$zone == h, ifelse(d$member == 0, 0, 2), 1))
rep_tri <- sapply(0:2, function(j) ifelse(d$zone == pairs, ifelse(d$member == j, 0, 1.5), 1))
half <- svrepdesign(data = d, weights = ~w, repweights = cbind(rep_half, rep_tri), type = "JKn", scale = 1,
                    rscales = c(rep(1, ncol(rep_half)), rep(2 / 3, 3)), combined.weights = FALSE, mse = TRUE)
add("jk2", half)
# (c) The same without the triple (PSU 41 dropped): plain svrepdesign type JK2.
d2 <- d[d$psu != n_psu, ]
rep2 <- sapply(sort(unique(d2$zone)), function(h) ifelse(d2$zone == h, ifelse(d2$member == 0, 0, 2), 1))
add("jk2_pairs_only", svrepdesign(data = d2, weights = ~w, repweights = rep2, type = "JK2",
                                  combined.weights = FALSE, mse = TRUE))
# (d) Fay BRR, rho = 0.5, from the Sylvester Hadamard matrix of order K (smallest power of 2 > zones); the
#     triple is split into halves {member 0} and {members 1, 2}.
n_zones <- length(unique(d$zone))
K <- 1; while (K <= n_zones) K <- K * 2
H <- matrix(1, 1, 1); while (nrow(H) < K) H <- rbind(cbind(H, H), cbind(H, -H))
rho <- 0.5
rep_fay <- sapply(seq_len(K), function(r) {
  s <- H[r, d$zone + 2]
  ifelse(d$member == 0, ifelse(s > 0, 2 - rho, rho), ifelse(s > 0, rho, 2 - rho))
})
add("fay", svrepdesign(data = d, weights = ~w, repweights = rep_fay, type = "Fay", rho = rho,
                       combined.weights = FALSE, mse = TRUE))

## 3. Zones within groups (schools within counties, for county estimates): full JK2 = JKn with strata
##    county x zone. Three counties with 7, 4 and 2 schools.
g_sizes <- c(7, 4, 2)
g <- data.frame(county = rep(seq_along(g_sizes), g_sizes))
g$school <- seq_len(nrow(g))
k_in <- ave(g$school, g$county, FUN = function(x) seq_along(x) - 1)
n_in <- ave(g$school, g$county, FUN = length)
g$zone <- k_in %/% 2; g$member <- k_in %% 2
odd <- (n_in %% 2 == 1) & (k_in == n_in - 1)
g$zone[odd] <- g$zone[odd] - 1; g$member[odd] <- 2
gs <- sample(20:30, nrow(g), replace = TRUE)
gd <- g[rep(seq_len(nrow(g)), gs), ]
gd$w <- round(runif(nrow(gd), 2, 9), 3)
gd$y <- round(rnorm(nrow(gd), 480, 80) + rnorm(nrow(g), 0, 15)[gd$school], 3)
gd$b <- as.integer(runif(nrow(gd)) < 0.4)
write_ref(gd, "se_grouped_data.csv")
# Estimates are per county (the replicate columns are shared by the counties, so only per-county estimates are
# meaningful): the SE of county c's mean and proportion from the subset of the JKn design.
gbase <- svydesign(ids = ~school, strata = ~interaction(county, zone), weights = ~w, data = gd)
grep_ <- as.svrepdesign(gbase, type = "JKn", mse = TRUE)
for (cty in seq_along(g_sizes)) add(sprintf("grouped_jk2_full_county%d", cty), subset(grep_, county == cty))
# The same zones as strata with every zone its own replicates (counties within provinces for national
# estimates): the pooled estimate over all groups from the same JKn design.
add("stratified_jk2_full", grep_)

write_ref(do.call(rbind, ses), "se_reference.csv")
