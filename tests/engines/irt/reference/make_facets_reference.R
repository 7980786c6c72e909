# Reference values for the many-facet partial-credit model (naeq.engines.irt.facets) from eRm's linear partial
# credit model (LPCM, conditional maximum likelihood). Run from the repository root after make_facets_data.py:
#
#   apt-get install -y r-base-core r-cran-erm      # Debian packages; not needed by the tests
#   Rscript tests/engines/irt/reference/make_facets_reference.R      # about 3 minutes on one core
#
# The many-facet model is an LPCM over "virtual items", one per (task, rater) pair: a rating of task i by rater r
# in category k has eRm's item-category parameter beta_(ir)k = -k * rho_r - sum_{v<=k} delta_iv (eRm:
# P(X = k) proportional to exp(k * theta + beta)), so beta = W eta with eta = (delta, rho) and W written below.
# Identification: the severities sum to zero (rho_8 = -sum of the others, as naeq's default) and, because CML
# conditions theta away, one step location is fixed: delta_T1,1 = 0 (the tests compare centred steps).
# Writes erm_facets.csv: facet (rater/step), label, estimate, se; first line names the software versions.
suppressPackageStartupMessages(library(eRm))
here <- "tests/engines/irt/reference"
versions <- sprintf("# eRm %s LPCM (CML); %s", as.character(packageVersion("eRm")), R.version.string)

args <- commandArgs(trailingOnly = TRUE)
long <- read.csv(file.path(here, "facets_ratings.csv"), stringsAsFactors = FALSE)
# optional argument N: only the first N persons (a quick trial; the reference file is made with all 2,000)
if (length(args) > 0) long <- long[long$person %in% sort(unique(long$person))[seq_len(as.integer(args[1]))], ]
tasks <- sort(unique(long$item))
raters <- sort(unique(long$rater))
m <- 4                                             # every task scored 0..4
vi <- expand.grid(rater = raters, item = tasks, stringsAsFactors = FALSE)[, c("item", "rater")]
vi$name <- paste(vi$item, vi$rater, sep = ".")
persons <- sort(unique(long$person))
X <- matrix(NA_integer_, nrow = length(persons), ncol = nrow(vi), dimnames = list(persons, vi$name))
X[cbind(match(long$person, persons), match(paste(long$item, long$rater, sep = "."), vi$name))] <- long$score
stopifnot(all(apply(X, 2, max, na.rm = TRUE) == m))   # every category observed for every virtual item

step_names <- unlist(lapply(tasks, function(t) paste(t, seq_len(m), sep = ".")))
free_steps <- step_names[-1]                          # delta_T1.1 fixed at 0
n_r <- length(raters)
W <- matrix(0, nrow = nrow(vi) * m, ncol = length(free_steps) + n_r - 1,
            dimnames = list(NULL, c(free_steps, raters[-n_r])))
row <- 0
for (j in seq_len(nrow(vi))) {
  for (k in seq_len(m)) {
    row <- row + 1
    for (v in seq_len(k)) {
      s <- paste(vi$item[j], v, sep = ".")
      if (s %in% free_steps) W[row, s] <- -1
    }
    r <- vi$rater[j]
    if (r == raters[n_r]) W[row, raters[-n_r]] <- k else W[row, r] <- -k
  }
}
fit <- LPCM(X, W = W, sum0 = FALSE)
eta <- fit$etapar
se <- fit$se.eta
names(eta) <- colnames(W)
names(se) <- colnames(W)
rho <- c(eta[raters[-n_r]], -sum(eta[raters[-n_r]]))
C <- rbind(diag(n_r - 1), rep(-1, n_r - 1))
cov_eta <- solve(fit$hessian)                          # eRm's hessian is that of the negative log-likelihood
idx <- match(raters[-n_r], colnames(W))
cov_rho <- C %*% cov_eta[idx, idx] %*% t(C)
out <- rbind(
  data.frame(facet = "rater", label = raters, estimate = sprintf("%.8f", rho),
             se = sprintf("%.8f", sqrt(diag(cov_rho)))),
  data.frame(facet = "step", label = step_names,
             estimate = sprintf("%.8f", c(0, eta[free_steps])),
             se = c("", sprintf("%.8f", se[free_steps])))
)
writeLines(versions, file.path(here, "erm_facets.csv"))
suppressWarnings(write.table(out, file.path(here, "erm_facets.csv"), sep = ",", row.names = FALSE, quote = FALSE,
                             append = TRUE))
cat("wrote erm_facets.csv\n")
