# Reference values from eRm (conditional maximum likelihood, sum-zero identification) for the Rasch and partial
# credit models. Run from the repository root after make_data.py:
#
#   apt-get install -y r-base-core r-cran-erm      # Debian packages; not needed by the tests
#   Rscript tests/engines/irt/reference/make_reference.R
#
# Writes erm_rasch.csv (item difficulties) and erm_pcm.csv (PCM thresholds = step difficulties b_v), each with a
# first comment line naming the software versions. eRm fixes sum(b) = 0 (sum over all item-category parameters for
# the PCM thresholds' locations); naeq fixes the population mean at 0, so the tests compare centred values.
suppressPackageStartupMessages(library(eRm))
here <- "tests/engines/irt/reference"
versions <- sprintf("# eRm %s; %s", as.character(packageVersion("eRm")), R.version.string)

rasch <- read.csv(file.path(here, "rasch_booklets.csv"), na.strings = "NA")
fit <- RM(rasch, sum0 = TRUE)
b <- -fit$betapar                       # eRm's beta are easiness parameters
se <- fit$se.beta
out <- data.frame(item = colnames(rasch), b = sprintf("%.8f", b), se = sprintf("%.8f", se))
writeLines(versions, file.path(here, "erm_rasch.csv"))
suppressWarnings(write.table(out, file.path(here, "erm_rasch.csv"), sep = ",", row.names = FALSE, quote = FALSE,
                             append = TRUE))

pcm <- read.csv(file.path(here, "pcm.csv"), na.strings = "NA")
fit <- PCM(pcm, sum0 = TRUE)
th <- thresholds(fit)$threshtable[[1]]   # rows = items: Location, Threshold 1..K-1
rows <- lapply(seq_len(nrow(th)), function(j) {
  steps <- th[j, -1]
  steps <- steps[!is.na(steps)]
  data.frame(item = colnames(pcm)[j], step = seq_along(steps), b = sprintf("%.8f", steps))
})
out <- do.call(rbind, rows)
writeLines(versions, file.path(here, "erm_pcm.csv"))
suppressWarnings(write.table(out, file.path(here, "erm_pcm.csv"), sep = ",", row.names = FALSE, quote = FALSE,
                             append = TRUE))
cat("wrote erm_rasch.csv and erm_pcm.csv\n")

# Mantel-Haenszel DIF (base R's mantelhaen.test, continuity corrected) on dif.csv: reference group 0, focal 1,
# strata = total score over the 12 items (strata with fewer than 2 persons dropped, as mantelhaen.test requires).
dif <- read.csv(file.path(here, "dif.csv"))
items <- setdiff(colnames(dif), "group")
total <- rowSums(dif[, items])
rows <- lapply(items, function(it) {
  tab <- table(factor(dif$group, levels = c(0, 1)), factor(dif[[it]], levels = c(1, 0)), total)
  tab <- tab[, , apply(tab, 3, sum) >= 2, drop = FALSE]
  mh <- mantelhaen.test(tab, correct = TRUE)
  data.frame(item = it, odds_ratio = sprintf("%.8f", mh$estimate), chi2 = sprintf("%.8f", mh$statistic),
             p = sprintf("%.8g", mh$p.value))
})
out <- do.call(rbind, rows)
writeLines(sprintf("# R stats::mantelhaen.test; %s", R.version.string), file.path(here, "r_mantelhaen.csv"))
suppressWarnings(write.table(out, file.path(here, "r_mantelhaen.csv"), sep = ",", row.names = FALSE,
                             quote = FALSE, append = TRUE))
cat("wrote r_mantelhaen.csv\n")
