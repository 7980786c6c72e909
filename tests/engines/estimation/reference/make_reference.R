# Reference values for tests/engines/estimation: run from this directory with
#   Rscript make_reference.R
# Reads data.csv (written by make_data.py, seeded) and writes reference.csv (design, statistic, group, term,
# value, se). Software: see the first line of reference.csv (Debian r-base-core, r-cran-survey,
# r-cran-mitools). The tests never call R; they read these files.
suppressMessages({library(survey); library(mitools)})
options(digits = 17, survey.replicates.mse = TRUE)
d <- read.csv("data.csv")
cuts <- c(420, 500, 580)
pvmap <- pv ~ pv1 + pv2 + pv3 + pv4 + pv5
designs <- suppressWarnings(list(
  jk2 = svrepdesign(data = d, weights = ~w, repweights = "^jk[0-9]+$", type = "JK2", combined.weights = TRUE,
                    mse = TRUE),
  fay = svrepdesign(data = d, weights = ~w, repweights = "^fay[0-9]+$", type = "Fay", rho = 0.5,
                    combined.weights = TRUE, mse = TRUE),
  jk2_nomse = svrepdesign(data = d, weights = ~w, repweights = "^jk[0-9]+$", type = "JK2",
                          combined.weights = TRUE, mse = FALSE)))
out <- list()
add <- function(design, statistic, group, term, value, se) {
  out[[length(out) + 1]] <<- data.frame(design = design, statistic = statistic, group = group, term = term,
                                        value = unname(value), se = unname(se))
}
pv <- function(des, action) MIcombine(withPV(pvmap, des, action = action, rewrite = TRUE))
for (nm in names(designs)) {
  des <- designs[[nm]]
  # means: whole, by county, by sex
  r <- pv(des, quote(svymean(~pv, data)))
  add(nm, "mean", "all", "mean", coef(r), SE(r))
  r <- pv(des, quote(svyby(~pv, ~county, data, svymean)))
  add(nm, "mean", paste0("county=", names(coef(r))), "mean", coef(r), SE(r))
  r <- pv(des, quote(svyby(~pv, ~sex, data, svymean)))
  add(nm, "mean", paste0("sex=", names(coef(r))), "mean", coef(r), SE(r))
  # one variable without PVs
  r <- svymean(~x1, des)
  add(nm, "mean_x1", "all", "mean", coef(r), SE(r))
  r <- svyby(~x1, ~county, des, svymean)
  add(nm, "mean_x1", paste0("county=", names(coef(r))), "mean", coef(r), SE(r))
  # proportion at or above 500, and level shares (a score equal to a cut is in the higher level)
  r <- pv(des, quote(svymean(~I(as.numeric(pv >= 500)), data)))
  add(nm, "proportion", "all", "p[>=500]", coef(r), SE(r))
  r <- pv(des, quote(svyby(~I(as.numeric(pv >= 500)), ~county, data, svymean)))
  add(nm, "proportion", paste0("county=", names(coef(r))), "p[>=500]", coef(r), SE(r))
  r <- pv(des, quote(svymean(~factor(cut(pv, c(-Inf, cuts, Inf), right = FALSE, labels = c("I", "II", "III", "IV"))),
                             data)))
  add(nm, "levels", "all", paste0("level[", c("I", "II", "III", "IV"), "]"), coef(r), SE(r))
  # percentiles (svyquantile defaults for replicate designs: qrule = "math", interval.type = "mean")
  probs <- c(0.1, 0.25, 0.5, 0.75, 0.9)
  r <- pv(des, quote(svyquantile(~pv, data, quantiles = probs)))
  add(nm, "percentile", "all", paste0("p", 100 * probs), coef(r), SE(r))
  for (g in 1:3) {
    sub <- subset(des, county == g)
    r <- pv(sub, quote(svyquantile(~pv, data, quantiles = probs)))
    add(nm, "percentile", paste0("county=", g), paste0("p", 100 * probs), coef(r), SE(r))
  }
  # regression
  r <- pv(des, quote(svyglm(pv ~ x1 + sex, data)))
  add(nm, "regression", "all", names(coef(r)), coef(r), SE(r))
  # differences from the replicates of the difference
  dm <- function(w, y, a, b) sum(w * y * a) / sum(w * a) - sum(w * y * b) / sum(w * b)
  r <- pv(des, quote(withReplicates(data, function(w, data) dm(w, data$pv, data$county == 1, data$county == 2))))
  add(nm, "difference", "county=1-county=2", "mean", coef(r), SE(r))
  r <- pv(des, quote(withReplicates(data, function(w, data) dm(w, data$pv, data$county == 1, rep(TRUE, nrow(data))))))
  add(nm, "difference", "county=1-all", "mean", coef(r), SE(r))
  r <- pv(des, quote(withReplicates(data, function(w, data) dm(w, data$pv, data$sex == 1, data$sex == 0))))
  add(nm, "difference", "sex=1-sex=0", "mean", coef(r), SE(r))
}
res <- do.call(rbind, out)
con <- file("reference.csv", "w")
writeLines(sprintf("# %s; survey %s; mitools %s", R.version.string, packageVersion("survey"),
                   packageVersion("mitools")), con)
write.csv(res, con, row.names = FALSE)
close(con)
cat(nrow(res), "reference values\n")
