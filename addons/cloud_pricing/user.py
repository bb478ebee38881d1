# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from subscription_core.route import user_application_class

APPLICATION = 'cloud_pricing'

# Keys of the price and checklist routes
UserApplication = user_application_class(APPLICATION, "Cloud Pricing")
